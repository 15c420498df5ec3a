package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Matrices;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * DARE (Yu et al., ICML 2024) with a linear combination: each task delta drops every entry with
 * probability 1 − density and rescales the survivors by 1/density, then ΔW = λ·Σ m_i ΔW_i'.
 * The mask is a pure function of (seed, layer name, task index), so a merge is reproducible on any
 * number of nodes and in any order.
 */
public final class DareMethod extends DescribedMethod {
    public static final String NAME = "dare";
    private final double density;
    private final double lambda;
    private final long seed;

    public DareMethod(Config config) {
        this(config.getDouble("density"), config.getDouble("lambda"), config.getLong("seed"));
    }

    public DareMethod(double density, double lambda, long seed) {
        super(NAME, "DARE", "https://arxiv.org/abs/2311.03099", DataNeeds.NONE);
        if (!(density > 0 && density <= 1)) {
            throw new IllegalArgumentException("dare density must lie in (0, 1], got " + density);
        }
        this.density = density;
        this.lambda = lambda;
        this.seed = seed;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("density", density, "lambda", lambda, "seed", seed);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        double[] sum = new double[(int) input.w0().length()];
        for (int i = 0; i < input.taskCount(); i++) {
            TaskLayer t = input.tasks().get(i);
            double[] v = Matrices.toArray(t.delta());
            SplittableRandom rng = new SplittableRandom(streamSeed(seed, input.layer(), i));
            double keepScale = t.manualCoef() / density;
            for (int j = 0; j < v.length; j++) {
                if (rng.nextDouble() < density) {
                    sum[j] += v[j] * keepScale;
                }
            }
        }
        for (int j = 0; j < sum.length; j++) {
            sum[j] *= lambda;
        }
        return LayerMergeResult.of(Matrices.of(sum, input.w0().size(0), input.w0().size(1)));
    }

    /** A stable 64-bit mix of the seed, the layer name and the task index (FNV-1a, then SplitMix finalisation). */
    static long streamSeed(long seed, String layer, int task) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : layer.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h ^= task * 0x9e3779b97f4a7c15L;
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }
}
