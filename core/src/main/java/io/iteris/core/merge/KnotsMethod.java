package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * KnOTS (Stoica et al., ICLR 2025, "Model merging with SVD to tie the KnOTS"), as its authors' code builds it
 * (github gstoica27/KnOTS, {@code task_merger.py} SVDMerger, {@code masking_ops.py}, the knots configs). Per layer the
 * tasks' updates side by side decompose as [m_1·ΔW_1 | … | m_T·ΔW_T] = U·S·[V_1ᵀ | … | V_Tᵀ]; each task is
 * represented by S·V_iᵀ [k×in] ({@code s_on_V = True} in every official config), and these are merged element-wise:
 * <ul>
 *   <li>{@code merge = ties} (KnOTS-TIES): each task keeps the entries of its representation at or above its
 *       {@code density}-quantile of magnitude, the quantile taken over the task's <em>whole</em> representation,
 *       every layer concatenated ({@code topk_values_mask} on the model's vector; {@link #prepare} finds it);</li>
 *   <li>{@code merge = dare} (KnOTS-DARE-TIES): each entry is kept with probability {@code density} and rescaled by
 *       1/density (DARE), nothing trimmed ({@code topK = 100} in the official config);</li>
 * </ul>
 * then, for both, TIES's sign election (the sign of the summed kept entries) and the disjoint mean of the kept
 * entries that agree with it, times λ; ΔW = U·merged.
 *
 * <p>Departures from the authors' code, each measured as immaterial or forced: everything is float64 (they cast U, s
 * and V to float32 after a float64 SVD); components below 1e-12 of the largest singular value are dropped (they drop
 * s ≤ 1e-5 absolutely); DARE draws from our seeded stream per layer and task, not torch's generator; an entry whose
 * kept values cancel exactly takes the majority sign of its layer, not of the whole model (only exact cancellations
 * differ). A method not {@link #prepare prepared} (one layer merged alone) takes that layer as the whole model.
 *
 * <p>For LoRAs the decomposition never forms the out × T·in matrix: it is B_cat·blockdiag(A_1…A_T), so a thin QR of
 * B_cat and the SVD of the short R × T·in core (R = Σ r_i) give U, S and the V_iᵀ. The update comes out factored
 * (b = U, a = merged).
 */
public final class KnotsMethod extends DescribedMethod {
    public static final String NAME = "knots";
    private final String merge;
    private final double density;
    private final double lambda;
    private final long seed;
    /** Per task, the magnitude at or above which KnOTS-TIES keeps an entry, over the whole model; null until prepared. */
    private final double[] thresholds;

    public KnotsMethod(Config config) {
        this(config.getString("merge"), config.getDouble("density"), config.getDouble("lambda"), config.getLong("seed"));
    }

    public KnotsMethod(String merge, double density, double lambda, long seed) {
        this(merge, density, lambda, seed, null);
    }

    private KnotsMethod(String merge, double density, double lambda, long seed, double[] thresholds) {
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
        this.thresholds = thresholds;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("merge", merge, "density", density, "lambda", lambda, "seed", seed);
    }

    private boolean trims() {
        return merge.equals("ties") && density < 1;
    }

    /** Finds each task's trim threshold over its representation in every layer (KnOTS-TIES with density below 1). */
    @Override
    public MergeMethod prepare(Iterable<LayerMergeInput> layers) {
        if (thresholds != null || !trims()) {
            return this;
        }
        List<List<double[]>> parts = new ArrayList<>();
        for (LayerMergeInput layer : layers) {
            double[][] sv = representations(layer, aligned(layer));
            for (int i = 0; i < sv.length; i++) {
                if (parts.size() <= i) {
                    parts.add(new ArrayList<>());
                }
                parts.get(i).add(sv[i]);
            }
        }
        double[] t = new double[parts.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = threshold(parts.get(i), density);
        }
        return new KnotsMethod(merge, density, lambda, seed, t);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        int out = Matrices.rows(input.w0());
        int in = Matrices.cols(input.w0());
        int tasks = input.taskCount();
        if (thresholds != null && thresholds.length != tasks) {
            throw new IllegalArgumentException("layer " + input.layer() + ": KnOTS was prepared for " + thresholds.length
                    + " tasks, not " + tasks);
        }
        Spectral.Compact joint = aligned(input);
        int k = joint.k();
        if (k == 0) {
            return LayerMergeResult.of(Matrices.zeros(out, in));
        }
        double[][] sv = representations(input, joint);
        for (int i = 0; i < tasks; i++) {
            if (merge.equals("dare")) {
                SplittableRandom rng = new SplittableRandom(DareMethod.streamSeed(seed, input.layer(), i));
                for (int j = 0; j < sv[i].length; j++) {
                    sv[i][j] = rng.nextDouble() < density ? sv[i][j] / density : 0;
                }
            } else if (trims()) {
                double t = thresholds != null ? thresholds[i] : threshold(List.of(sv[i]), density);
                for (int j = 0; j < sv[i].length; j++) {
                    if (!(Math.abs(sv[i][j]) >= t)) {
                        sv[i][j] = 0;
                    }
                }
            }
        }
        INDArray a = Matrices.of(electedMean(sv, lambda), k, in);
        INDArray b = joint.uMatrix();
        return new LayerMergeResult(Blas.mmul(b, a), Map.of(), "svd", new LayerMergeResult.Factors(b, a));
    }

    /** Task i's S·V_iᵀ [k×in] (row-major), from columns [i·in, (i+1)·in) of the joint Vᵀ. */
    private static double[][] representations(LayerMergeInput input, Spectral.Compact joint) {
        int in = Matrices.cols(input.w0());
        int tasks = input.taskCount();
        int k = joint.k();
        double[][] v = new double[tasks][k * in];
        for (int i = 0; i < tasks; i++) {
            for (int j = 0; j < k; j++) {
                double s = joint.s()[j];
                int from = j * tasks * in + i * in;
                for (int c = 0; c < in; c++) {
                    v[i][j * in + c] = s * joint.vt()[from + c];
                }
            }
        }
        return v;
    }

    /**
     * The authors' {@code topk_values_mask} threshold over one task's concatenated entries: with d entries, the
     * ⌈d − ⌊d·density⌋⌉-th smallest magnitude (entries at or above it are kept, ties included).
     */
    static double threshold(List<double[]> parts, double density) {
        int d = parts.stream().mapToInt(p -> p.length).sum();
        if (density >= 1 || d == 0) {
            return 0;
        }
        double[] mags = new double[d];
        int at = 0;
        for (double[] p : parts) {
            for (double x : p) {
                mags[at++] = Math.abs(x);
            }
        }
        if (d == 1) {
            return mags[0];
        }
        int kth = d - (int) (d * density);
        Arrays.sort(mags);
        return mags[kth - 1];
    }

    /**
     * TIES's election and disjoint mean as the authors' {@code ties_masking} and {@code masked_merge}: the sign of
     * the summed entries (zeros take the majority of the elected signs), then λ·mean of the non-zero entries that
     * agree with it.
     */
    static double[] electedMean(double[][] v, double lambda) {
        int n = v[0].length;
        double[] sign = new double[n];
        double majority = 0;
        for (int j = 0; j < n; j++) {
            double sum = 0;
            for (double[] task : v) {
                sum += task[j];
            }
            sign[j] = Math.signum(sum);
            majority += sign[j];
        }
        majority = Math.signum(majority);
        double[] merged = new double[n];
        for (int j = 0; j < n; j++) {
            double elected = sign[j] == 0 ? majority : sign[j];
            double sum = 0;
            int count = 0;
            for (double[] task : v) {
                double x = task[j];
                if ((elected > 0 && x > 0) || (elected < 0 && x < 0)) {
                    sum += lambda * x;
                    count++;
                }
            }
            merged[j] = count == 0 ? 0 : sum / count;
        }
        return merged;
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
