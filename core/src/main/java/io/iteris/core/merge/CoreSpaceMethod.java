package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Core space merging (Panariello et al., NeurIPS 2025, "Accurate and Efficient Low-Rank Model Merging in Core
 * Space"), as its authors' code builds it (github apanariello4/core-space-merging, {@code task_merger.py}
 * {@code get_core_matrices} and {@code merge} with {@code merge_space = 'core'}): per layer, reference bases from the
 * stacked LoRA factors, U_B the left singular vectors of B_stack = [B_1 … B_T] [out×R] and V_Aᵀ the right ones of
 * A_stack = [A_1; …; A_T] [R×in]; each task's core M_i = U_Bᵀ·B_i A_i·V_A [R×R] (exact: B_i's columns lie in U_B's
 * span and A_i's rows in V_A's); an {@code inner} rule merges the cores, and ΔW = U_B·M_merged·V_Aᵀ. Linear rules
 * give the same result as in the full space; TSV (the paper's headline, {@code inner = tsv}) and TIES do not, and run
 * on R×R matrices instead of out×in.
 *
 * <p>The inner rules are this project's {@link TsvMethod} (keep_fraction 1, the authors' ⌊R/T⌋ components per
 * task), {@link TaskArithmeticMethod} and {@link TiesMethod} (density), each with this method's λ. Departures:
 * the LoRA scale s_i and the user's weight m_i are folded into B_i (the authors' configs have s_i = 1); an update
 * given dense rather than as a LoRA takes B_i = m_i·ΔW_i, A_i = I (its core space is the full space).
 */
public final class CoreSpaceMethod extends DescribedMethod {
    public static final String NAME = "core_space";
    private final String inner;
    private final double lambda;
    private final double density;
    private final MergeMethod rule;

    public CoreSpaceMethod(Config config) {
        this(config.getString("inner"), config.getDouble("lambda"), config.getDouble("density"));
    }

    public CoreSpaceMethod(String inner, double lambda, double density) {
        super(NAME, "Core space", "https://arxiv.org/abs/2509.17786", DataNeeds.NONE);
        this.rule = switch (inner) {
            case TsvMethod.NAME -> new TsvMethod(1.0, lambda);
            case TaskArithmeticMethod.NAME -> new TaskArithmeticMethod(lambda);
            case TiesMethod.NAME -> new TiesMethod(density, lambda);
            default -> throw new IllegalArgumentException("iteris.methods.core_space.inner must be tsv, task_arithmetic or ties, got '"
                    + inner + "'");
        };
        this.inner = inner;
        this.lambda = lambda;
        this.density = density;
    }

    @Override
    public Map<String, Object> parameters() {
        return inner.equals(TiesMethod.NAME) ? Map.of("inner", inner, "lambda", lambda, "density", density)
                : Map.of("inner", inner, "lambda", lambda);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        int out = Matrices.rows(input.w0());
        int in = Matrices.cols(input.w0());
        List<INDArray> bs = new ArrayList<>();
        List<INDArray> as = new ArrayList<>();
        for (TaskLayer t : input.tasks()) {
            if (t.lora() != null) {
                bs.add(t.lora().b().mul(t.lora().scale() * t.manualCoef()));
                as.add(t.lora().a());
            } else {
                bs.add(t.delta().mul(t.manualCoef()));
                as.add(Matrices.identity(in));
            }
        }
        INDArray bStack = Spectral.hstack(bs, out);
        INDArray aStack = Spectral.vstack(as, in);
        int rank = Matrices.cols(bStack);
        Lapack.Svd sb = Lapack.svd(Matrices.toArray(bStack), out, rank);
        Lapack.Svd sa = Lapack.svd(Matrices.toArray(aStack), rank, in);
        INDArray ub = Matrices.of(sb.u(), out, sb.k());
        INDArray vha = Matrices.of(sa.vt(), sa.k(), in);
        List<TaskLayer> cores = new ArrayList<>();
        for (int i = 0; i < bs.size(); i++) {
            // M_i = U_Bᵀ·B_i·(A_i·V_A)
            INDArray core = Blas.mmul(Blas.crossGram(ub, bs.get(i)), Blas.mmul(as.get(i), vha.transpose()));
            cores.add(new TaskLayer(input.tasks().get(i).task(), core, 1.0, null));
        }
        INDArray merged = rule.mergeLayer(new LayerMergeInput(input.layer(), Matrices.zeros(sb.k(), sa.k()), cores,
                input.iteration())).delta();
        // ΔW = U_B·M·V_Aᵀ, factored as b = U_B·M, a = V_Aᵀ (rank at most R)
        INDArray b = Blas.mmul(ub, merged);
        return new LayerMergeResult(Blas.mmul(b, vha), Map.of(), "svd", new LayerMergeResult.Factors(b, vha));
    }
}
