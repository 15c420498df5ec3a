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
 * @param carriedCoefficients what a later solve of this layer is handed ({@link io.iteris.core.engine.IterationPolicy}):
 *                    IterIS's adaptive coefficients, which depend only on the task models; null for other methods
 */
public record LayerMergeResult(INDArray delta, Map<String, double[]> diagnostics, String solver, Factors factors,
                               double[] carriedCoefficients) {

    /** A factored update: b [out×R] · a [R×in]. */
    public record Factors(INDArray b, INDArray a) {
    }

    public LayerMergeResult(INDArray delta, Map<String, double[]> diagnostics, String solver) {
        this(delta, diagnostics, solver, null, null);
    }

    public LayerMergeResult(INDArray delta, Map<String, double[]> diagnostics, String solver, Factors factors) {
        this(delta, diagnostics, solver, factors, null);
    }

    public static LayerMergeResult of(INDArray delta) {
        return new LayerMergeResult(delta, Map.of(), "none");
    }
}
