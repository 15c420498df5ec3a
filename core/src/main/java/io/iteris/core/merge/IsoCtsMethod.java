package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Iso-CTS and Iso-C, isotropic merging in common and task-specific subspaces (Marczak et al., ICML 2025, "No Task
 * Left Behind: Isotropic Model Merging with Common and Task-Specific Subspaces"). Per layer, with M = Σ m_i·ΔW_i:
 * <ul>
 *   <li>the common subspace is M's leading k singular directions U_k, V_k;</li>
 *   <li>each task adds its own leading t directions of (I − U_k U_kᵀ)·m_i·ΔW_i, what the common space misses;</li>
 *   <li>all left directions side by side are made orthonormal (Procrustes), the right ones likewise;</li>
 *   <li>every direction gets the same weight, the mean σ̄ of the singular values kept (the isotropic spectrum that
 *       gives every task's directions an equal voice): ΔW = λ·σ̄·U⊥·V⊥ᵀ.</li>
 * </ul>
 * {@code common_fraction} = 1 is Iso-C (M's spectrum made flat, no task-specific part).
 *
 * <p>The paper sizes the spaces by a full-rank layer's min(out, in). A sum of LoRAs has rank R ≤ Σ r_i, and its
 * directions beyond R are arbitrary null-space vectors that a flat spectrum would amplify, so here the spaces
 * are fractions of R: k = R − T·t with t = round((R − ⌊common_fraction·R⌋)/T), as the paper rounds so that
 * every task gets the same t. The update comes out factored (b = λ·σ̄·U⊥, a = V⊥ᵀ).
 */
public final class IsoCtsMethod extends DescribedMethod {
    public static final String NAME = "iso_cts";
    private final double commonFraction;
    private final double lambda;

    public IsoCtsMethod(Config config) {
        this(config.getDouble("common_fraction"), config.getDouble("lambda"));
    }

    public IsoCtsMethod(double commonFraction, double lambda) {
        super(NAME, "Iso-CTS", "https://arxiv.org/abs/2502.04959", DataNeeds.NONE);
        if (!(commonFraction > 0 && commonFraction <= 1)) {
            throw new IllegalArgumentException("iso_cts common_fraction must lie in (0, 1], got " + commonFraction);
        }
        this.commonFraction = commonFraction;
        this.lambda = lambda;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("common_fraction", commonFraction, "lambda", lambda);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        int out = Matrices.rows(input.w0());
        int in = Matrices.cols(input.w0());
        Spectral.Compact sum = sum(input);
        int tasks = input.taskCount();
        int rank = sum.k();
        int perTask = Math.min(rank / tasks, (int) Math.round((rank - Math.floor(commonFraction * rank)) / tasks));
        int common = rank - tasks * perTask;
        Spectral.Compact c = sum.top(common);
        List<INDArray> us = new ArrayList<>();
        List<INDArray> vts = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        if (perTask > 0) {
            INDArray uk = c.k() == 0 ? null : c.uMatrix();
            for (TaskLayer t : input.tasks()) {
                Spectral.Compact own = (uk == null ? Spectral.of(t) : specific(t, uk)).top(perTask);
                if (own.k() > 0) {
                    us.add(own.uMatrix());
                    vts.add(own.vtMatrix());
                    values.add(own.s());
                }
            }
        }
        if (c.k() > 0) {
            us.add(c.uMatrix());
            vts.add(c.vtMatrix());
            values.add(c.s());
        }
        double mean = values.stream().flatMapToDouble(Arrays::stream).average().orElse(0);
        double[] flat = new double[values.stream().mapToInt(v -> v.length).sum()];
        Arrays.fill(flat, mean);
        if (perTask == 0) {
            // Iso-C: M's own singular vectors are orthonormal already
            INDArray b = c.uMatrix().muli(lambda * mean);
            INDArray a = c.vtMatrix();
            return new LayerMergeResult(Blas.mmul(b, a), Map.of(), "svd", new LayerMergeResult.Factors(b, a));
        }
        return TsvMethod.orthogonalised(us, vts, flat, lambda, out, in);
    }

    /** M = Σ m_i·ΔW_i, decomposed from the stacked factors when every update is a LoRA. */
    private static Spectral.Compact sum(LayerMergeInput input) {
        if (!input.allLora()) {
            INDArray m = Matrices.zeros(input.w0().size(0), input.w0().size(1));
            for (TaskLayer t : input.tasks()) {
                Blas.axpy(t.manualCoef(), t.delta(), m);
            }
            return Spectral.ofDense(m);
        }
        List<INDArray> as = new ArrayList<>();
        input.tasks().forEach(t -> as.add(t.lora().a()));
        int out = Matrices.rows(input.w0());
        int in = Matrices.cols(input.w0());
        return Spectral.ofFactors(Spectral.hstack(Spectral.weightedLeftFactors(input), out), Spectral.vstack(as, in), 1.0);
    }

    /** (I − U_k U_kᵀ)·m_i·ΔW_i: the part of the task's update outside the common space. */
    private static Spectral.Compact specific(TaskLayer t, INDArray uk) {
        if (t.lora() != null) {
            INDArray b = t.lora().b().dup();
            b.subi(Blas.mmul(uk, Blas.crossGram(uk, b)));
            return Spectral.ofFactors(b, t.lora().a(), t.lora().scale() * t.manualCoef());
        }
        INDArray d = t.delta().mul(t.manualCoef());
        d.subi(Blas.mmul(uk, Blas.crossGram(uk, d)));
        return Spectral.ofDense(d);
    }
}
