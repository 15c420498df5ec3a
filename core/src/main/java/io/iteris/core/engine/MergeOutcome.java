package io.iteris.core.engine;

import io.iteris.core.merge.LayerMergeResult;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * A finished merge.
 *
 * @param deltas       merged ΔW per layer [out×in]
 * @param finalResults the last solve's per-layer results (diagnostics included)
 * @param iterations   every solve, in order
 * @param totalNanos   wall time of the merge (excluding loading and writing)
 */
public record MergeOutcome(Map<String, INDArray> deltas, Map<String, LayerMergeResult> finalResults,
                           List<IterationReport> iterations, long totalNanos) {
}
