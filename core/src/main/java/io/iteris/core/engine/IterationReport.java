package io.iteris.core.engine;

import io.iteris.core.merge.LayerMergeResult;

import java.util.Map;

/**
 * One solve of every layer.
 *
 * @param iteration      0-based solve index
 * @param layers         each layer's result
 * @param relativeChange per layer ‖ΔW(k) − ΔW(k−1)‖_F / ‖ΔW(k)‖_F (empty at the first solve)
 * @param inferenceNanos time spent in forward passes and statistics before this solve
 * @param solveNanos     time spent solving
 * @param wallNanos      wall-clock time of the whole iteration; on the actor engine inference and solve times are
 *                       sums over workers and layers (which run in parallel), and the rest of the wall time is
 *                       transfer and coordination
 */
public record IterationReport(int iteration, Map<String, LayerMergeResult> layers, Map<String, Double> relativeChange,
                              long inferenceNanos, long solveNanos, long wallNanos) {

    /** The largest relative change over layers (NaN at the first solve). */
    public double maxRelativeChange() {
        return relativeChange.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }
}
