package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * KnOTS (Stoica et al., ICLR 2025, "Model merging with SVD to tie the KnOTS"): the tasks' LoRA updates are
 * first aligned in one basis, then merged there. Per layer, the updates side by side decompose as
 * [m_1·ΔW_1 | … | m_T·ΔW_T] = U·S·[V_1ᵀ | … | V_Tᵀ]: U·S is shared, and V_iᵀ [k×in] says how task i uses each
 * shared direction. The V_iᵀ are merged element-wise with TIES (trim each to its top {@code density} entries,
 * elect signs, disjoint mean) or DARE (keep each entry with probability {@code density}, rescale, sum), and
 * ΔW = λ·U·S·V_mergedᵀ. With nothing trimmed or dropped and a plain sum, this is task arithmetic exactly; the
 * gain is that TIES and DARE act where the tasks' entries are comparable.
 *
 * <p>For LoRAs the decomposition never forms the out × T·in matrix: it is B_cat·blockdiag(A_1…A_T), so a thin QR of
 * B_cat and the SVD of the short R × T·in core (R = Σ r_i) give U, S and the V_iᵀ. The update comes out factored
 * (b = λ·U·S, a = V_mergedᵀ).
 */
public final class KnotsMethod extends DescribedMethod {
    public static final String NAME = "knots";
    private final String merge;
    private final double density;
    private final double lambda;
    private final long seed;

    public KnotsMethod(Config config) {
        this(config.getString("merge"), config.getDouble("density"), config.getDouble("lambda"), config.getLong("seed"));
    }

    public KnotsMethod(String merge, double density, double lambda, long seed) {
        super(NAME, "KnOTS", "https://arxiv.org/abs/2410.19735", DataNeeds.NONE);
        if (!merge.equals("ties") && !merge.equals("dare")) {
            throw new IllegalArgumentException("knots merge must be ties or dare, got '" + merge + "'");
        }
        if (!(density > 0 && density <= 1)) {
            throw new IllegalArgumentException("knots density must lie in (0, 1], got " + density);
        }
        this.merge = merge;
        this.density = density;
        this.lambda = lambda;
        this.seed = seed;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("merge", merge, "density", density, "lambda", lambda, "seed", seed);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        int out = Matrices.rows(input.w0());
        int in = Matrices.cols(input.w0());
        int tasks = input.taskCount();
        Spectral.Compact joint = aligned(input);
        int k = joint.k();
        if (k == 0) {
            return LayerMergeResult.of(Matrices.zeros(out, in));
        }
        // task i's V_iᵀ: columns [i·in, (i+1)·in) of the joint Vᵀ
        double[][] v = new double[tasks][k * in];
        for (int i = 0; i < tasks; i++) {
            for (int j = 0; j < k; j++) {
                System.arraycopy(joint.vt(), j * tasks * in + i * in, v[i], j * in, in);
            }
        }
        double[] mergedV = merge.equals("ties") ? ties(v) : dare(v, input.layer());
        INDArray b = Spectral.scale(joint.uMatrix(), joint.s(), true).muli(lambda);
        INDArray a = Matrices.of(mergedV, k, in);
        return new LayerMergeResult(Blas.mmul(b, a), Map.of(), "svd", new LayerMergeResult.Factors(b, a));
    }

    private double[] ties(double[][] v) {
        double[][] trimmed = new double[v.length][];
        for (int i = 0; i < v.length; i++) {
            trimmed[i] = TiesMethod.trim(v[i], density);
        }
        return TiesMethod.disjointMean(trimmed, 1.0);
    }

    private double[] dare(double[][] v, String layer) {
        double[] sum = new double[v[0].length];
        for (int i = 0; i < v.length; i++) {
            SplittableRandom rng = new SplittableRandom(DareMethod.streamSeed(seed, layer, i));
            for (int j = 0; j < sum.length; j++) {
                if (rng.nextDouble() < density) {
                    sum[j] += v[i][j] / density;
                }
            }
        }
        return sum;
    }

    /** The compact SVD of [m_1·ΔW_1 | … | m_T·ΔW_T] (out × T·in). */
    static Spectral.Compact aligned(LayerMergeInput input) {
        int out = Matrices.rows(input.w0());
        int in = Matrices.cols(input.w0());
        int tasks = input.taskCount();
        int inner = input.allLora() ? input.tasks().stream().mapToInt(t -> t.lora().rank()).sum() : Integer.MAX_VALUE;
        if (inner > out) {
            List<INDArray> parts = new ArrayList<>();
            for (TaskLayer t : input.tasks()) {
                parts.add(t.delta().mul(t.manualCoef()));
            }
            return Spectral.ofDense(Spectral.hstack(parts, out));
        }
        Lapack.Qr qr = Lapack.thinQr(Matrices.toArray(Spectral.hstack(Spectral.weightedLeftFactors(input), out)), out, inner);
        // core = R_b·blockdiag(A_1…A_T) [inner × T·in]: block i is R_b's columns of task i times A_i
        INDArray rb = Matrices.of(qr.r(), inner, inner);
        double[] core = new double[inner * tasks * in];
        int offset = 0;
        for (int i = 0; i < tasks; i++) {
            int r = input.tasks().get(i).lora().rank();
            INDArray block = Blas.mmul(rb.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(offset, offset + r)), input.tasks().get(i).lora().a());
            double[] d = Matrices.toArray(block);
            for (int row = 0; row < inner; row++) {
                System.arraycopy(d, row * in, core, row * tasks * in + i * in, in);
            }
            offset += r;
        }
        Spectral.Compact c = Spectral.ofDense(Matrices.of(core, inner, tasks * in));
        INDArray u = Blas.mmul(Matrices.of(qr.q(), out, inner), c.uMatrix());
        return new Spectral.Compact(Matrices.toArray(u), c.s(), c.vt(), out, tasks * in, c.k());
    }
}
