package io.iteris.core.merge;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * A merged layer.
 *
 * @param delta       merged ΔW [out×in]; the new layer weight is W0 + delta
 * @param diagnostics per-task numbers worth reporting (IterIS: coef, omega, lambda_1, lambda_2), in task order
 * @param solver      how the linear system was solved ("cholesky", "lu"), or "none"
 * @param factors     delta = b·a exactly, when the solve produced it factored (the low-rank path), else null
 */
public record LayerMergeResult(INDArray delta, Map<String, double[]> diagnostics, String solver, Factors factors) {

    /** A factored update: b [out×R] · a [R×in]. */
    public record Factors(INDArray b, INDArray a) {
    }

    public LayerMergeResult(INDArray delta, Map<String, double[]> diagnostics, String solver) {
        this(delta, diagnostics, solver, null);
    }

    public static LayerMergeResult of(INDArray delta) {
        return new LayerMergeResult(delta, Map.of(), "none");
    }
}
