package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * TSV-M, task singular vectors merge (Gargiulo et al., CVPR 2025, "Task Singular Vectors: Reducing Task
 * Interference in Model Merging"). Per layer: each task's update m_i·ΔW_i = U_i S_i V_iᵀ keeps its leading
 * singular components; the kept left vectors of all tasks, side by side, are replaced by the nearest matrix with
 * orthonormal columns (Procrustes: U⊥ = P·Qᵀ from [U_1…U_T] = P·Σ·Qᵀ), the right vectors likewise, and
 * ΔW = λ·U⊥·diag(S_1…S_T)·V⊥ᵀ. Making the tasks' singular directions orthogonal is what removes their interference.
 *
 * <p>As the authors' code ({@code compute_and_sum_svd_mem_reduction} in github AntoAndGar/task_singular_vectors),
 * each task keeps its first ⌊min(out, in)/T⌋ components. A LoRA update has only r_i non-zero ones; the authors'
 * code keeps the zero ones too, which lets whatever null-space vectors the SVD routine returns into the Procrustes
 * step, so here they are left out (the one departure): a task keeps min(r_i, ⌊min(out, in)/T⌋) components, or
 * {@code max(1, round(keep_fraction·r_i))} of them when that is fewer (keep_fraction, not in the paper, defaults
 * to 1, the authors' rule). The update comes out factored (b = λ·U⊥·diag(S), a = V⊥ᵀ) with rank Σ k_i.
 */
public final class TsvMethod extends DescribedMethod {
    public static final String NAME = "tsv";
    private final double keepFraction;
    private final double lambda;

    public TsvMethod(Config config) {
        this(config.getDouble("keep_fraction"), config.getDouble("lambda"));
    }

    public TsvMethod(double keepFraction, double lambda) {
        super(NAME, "TSV-M", "https://arxiv.org/abs/2412.00081", DataNeeds.NONE);
        if (!(keepFraction > 0 && keepFraction <= 1)) {
            throw new IllegalArgumentException("tsv keep_fraction must lie in (0, 1], got " + keepFraction);
        }
        this.keepFraction = keepFraction;
        this.lambda = lambda;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("keep_fraction", keepFraction, "lambda", lambda);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        int out = Matrices.rows(input.w0());
        int in = Matrices.cols(input.w0());
        List<INDArray> us = new ArrayList<>();
        List<INDArray> vts = new ArrayList<>();
        List<Double> sigma = new ArrayList<>();
        // the authors' sv_reduction = 1/T of a full-rank layer's components
        int share = Math.min(out, in) / input.taskCount();
        for (TaskLayer t : input.tasks()) {
            Spectral.Compact c = Spectral.of(t);
            int keep = Math.min(share, Math.max(1, (int) Math.round(keepFraction * c.k())));
            if (c.k() == 0 || keep == 0) {
                continue;
            }
            Spectral.Compact kept = c.top(keep);
            us.add(kept.uMatrix());
            vts.add(kept.vtMatrix());
            for (double s : kept.s()) {
                sigma.add(s);
            }
        }
        return orthogonalised(us, vts, sigma.stream().mapToDouble(Double::doubleValue).toArray(), lambda, out, in);
    }

    /**
     * λ·U⊥·diag(s)·V⊥ᵀ with U⊥, V⊥ the nearest orthonormal matrices to the side-by-side singular vectors, as
     * factors (shared with Iso-CTS, which passes equal values s).
     */
    static LayerMergeResult orthogonalised(List<INDArray> us, List<INDArray> vts, double[] s, double lambda, int out, int in) {
        if (s.length == 0) {
            return LayerMergeResult.of(Matrices.zeros(out, in));
        }
        INDArray u = Spectral.nearestOrthonormal(Spectral.hstack(us, out));
        INDArray v = Spectral.nearestOrthonormal(Spectral.vstack(vts, in).transpose().dup('c'));
        double[] scaled = s.clone();
        for (int j = 0; j < scaled.length; j++) {
            scaled[j] *= lambda;
        }
        INDArray b = Spectral.scale(u, scaled, true);
        INDArray a = v.transpose().dup('c');
        return new LayerMergeResult(Blas.mmul(b, a), Map.of(), "svd", new LayerMergeResult.Factors(b, a));
    }
}
