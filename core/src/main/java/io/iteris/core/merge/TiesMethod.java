package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Matrices;

import java.util.Arrays;
import java.util.Map;

/**
 * TIES-merging (Yadav et al., NeurIPS 2023), trimming per matrix: keep each task's top
 * {@code max(1, ⌊density·n⌋)} entries by magnitude (ties to the lower flat index), elect the sign of the
 * summed trimmed values, average the non-zero entries that agree with it, scale by λ.
 */
public final class TiesMethod extends DescribedMethod {
    public static final String NAME = "ties";
    private final double density;
    private final double lambda;

    public TiesMethod(Config config) {
        this(config.getDouble("density"), config.getDouble("lambda"));
    }

    public TiesMethod(double density, double lambda) {
        super(NAME, "TIES", "https://arxiv.org/abs/2306.01708", DataNeeds.NONE);
        if (!(density > 0 && density <= 1)) {
            throw new IllegalArgumentException("ties density must lie in (0, 1], got " + density);
        }
        this.density = density;
        this.lambda = lambda;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("density", density, "lambda", lambda);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        int n = input.taskCount();
        double[][] trimmed = new double[n][];
        for (int i = 0; i < n; i++) {
            TaskLayer t = input.tasks().get(i);
            double[] v = Matrices.toArray(t.delta());
            for (int j = 0; j < v.length; j++) {
                v[j] *= t.manualCoef();
            }
            trimmed[i] = trim(v, density);
        }
        return LayerMergeResult.of(Matrices.of(disjointMean(trimmed, lambda), input.w0().size(0), input.w0().size(1)));
    }

    /** Keeps the k largest |values| (ties to the lower index), zeroing the rest. */
    static double[] trim(double[] v, double density) {
        int k = Math.max(1, (int) Math.floor(density * v.length));
        if (k >= v.length) {
            return v.clone();
        }
        double[] mags = new double[v.length];
        for (int j = 0; j < v.length; j++) {
            mags[j] = Math.abs(v[j]);
        }
        double[] sorted = mags.clone();
        Arrays.sort(sorted);
        double threshold = sorted[v.length - k];
        int above = 0;
        for (double m : mags) {
            if (m > threshold) {
                above++;
            }
        }
        int equalToKeep = k - above;
        double[] out = new double[v.length];
        for (int j = 0; j < v.length; j++) {
            if (mags[j] > threshold) {
                out[j] = v[j];
            } else if (mags[j] == threshold && equalToKeep > 0) {
                out[j] = v[j];
                equalToKeep--;
            }
        }
        return out;
    }

    /** Sign election and the mean of the agreeing non-zero entries, times λ. */
    static double[] disjointMean(double[][] trimmed, double lambda) {
        int len = trimmed[0].length;
        double[] out = new double[len];
        for (int j = 0; j < len; j++) {
            double sum = 0;
            for (double[] t : trimmed) {
                sum += t[j];
            }
            double sign = Math.signum(sum);
            if (sign == 0) {
                continue;
            }
            double agree = 0;
            int count = 0;
            for (double[] t : trimmed) {
                if (t[j] != 0 && Math.signum(t[j]) == sign) {
                    agree += t[j];
                    count++;
                }
            }
            out[j] = count == 0 ? 0 : lambda * agree / count;
        }
        return out;
    }
}
