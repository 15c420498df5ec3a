package io.iteris.core.engine;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole merge in one process: features of each LoRA model once, then solve → install → re-run → solve
 * for the method's number of solves. The actor engine distributes exactly these steps; this class is the
 * reference it is compared with.
 */
public final class LocalMergeEngine {
    private static final Logger log = LoggerFactory.getLogger(LocalMergeEngine.class);

    private final MergeInputs inputs;
    private final MergeMethod method;
    private final ModelRunner runner;
    private final List<INDArray> calibration;
    private final int shardSize;

    /**
     * @param runner      model runner; may be null for methods that need no data
     * @param calibration per task, its samples [S, T, d]; may be null for methods that need no data
     * @param shardSize   samples per statistics shard (0 = one shard)
     */
    public LocalMergeEngine(MergeInputs inputs, MergeMethod method, ModelRunner runner, List<INDArray> calibration, int shardSize) {
        this.inputs = inputs;
        this.method = method.prepare(inputs.layerInputs());
        this.runner = runner;
        this.calibration = calibration;
        this.shardSize = shardSize;
        if (method.dataNeeds() != MergeMethod.DataNeeds.NONE) {
            if (runner == null || calibration == null) {
                throw new IllegalArgumentException("method '" + method.name() + "' needs a model runner and calibration samples");
            }
            if (calibration.size() != inputs.taskCount()) {
                throw new IllegalArgumentException("calibration has " + calibration.size() + " tasks, adapters " + inputs.taskCount());
            }
            if (!runner.targetLayers().containsAll(inputs.layers())) {
                throw new IllegalArgumentException("the model runner cannot install layers "
                        + inputs.layers().stream().filter(l -> !runner.targetLayers().contains(l)).toList());
            }
        }
    }

    public MergeOutcome run(MergeEngine.Listener listener) {
        long start = System.nanoTime();
        boolean needsData = method.dataNeeds() != MergeMethod.DataNeeds.NONE;
        ShardInference inference = needsData ? new ShardInference(inputs, runner, calibration, shardSize) : null;
        List<Map<String, GramStatistics>> stats = null;
        long inferenceNanos = 0;
        if (needsData) {
            long t0 = System.nanoTime();
            stats = allTaskStatistics(inference, null);
            inferenceNanos = System.nanoTime() - t0;
        }
        // X never changes: G and what the first solve carries over serve every later one (as in the solvers)
        List<Map<String, GramStatistics>> first = stats;
        IterationPolicy policy = new IterationPolicy(method);
        IterationPolicy.CarryOver carried = IterationPolicy.carryOver();
        List<IterationReport> reports = new ArrayList<>();
        Map<String, INDArray> previous = null;
        Map<String, INDArray> merged = null;
        Map<String, LayerMergeResult> results = null;
        int solves = policy.solves();
        for (int it = 0; it < solves; it++) {
            long t0 = System.nanoTime();
            results = new LinkedHashMap<>();
            merged = new LinkedHashMap<>();
            for (String layer : inputs.layers()) {
                LayerMergeResult r = method.mergeLayer(inputs.layerInput(layer, it,
                        stats == null ? null : perTask(stats, first, layer), carried.coefficients(layer)));
                carried.solved(layer, r);
                results.put(layer, r);
                merged.put(layer, r.delta());
            }
            long solveNanos = System.nanoTime() - t0;
            Map<String, Double> change = new LinkedHashMap<>();
            if (previous != null) {
                for (String layer : inputs.layers()) {
                    change.put(layer, Matrices.relativeError(previous.get(layer), merged.get(layer)));
                }
            }
            IterationReport report = new IterationReport(it, results, change, inferenceNanos, solveNanos, inferenceNanos + solveNanos);
            reports.add(report);
            log.info("{} solve {}/{}: max relative change of dW {}", method.name(), it + 1, solves,
                    previous == null ? "-" : String.format("%.3e", report.maxRelativeChange()));
            if (listener != null) {
                listener.onIteration(report, merged);
            }
            if (policy.isLast(it, report.maxRelativeChange())) {
                break;
            }
            previous = merged;
            long t1 = System.nanoTime();
            stats = allTaskStatistics(inference, merged);
            inferenceNanos = System.nanoTime() - t1;
        }
        return new MergeOutcome(merged, results, reports, System.nanoTime() - start);
    }

    private List<Map<String, GramStatistics>> allTaskStatistics(ShardInference inference, Map<String, INDArray> merged) {
        List<Map<String, GramStatistics>> out = new ArrayList<>();
        for (int i = 0; i < inputs.taskCount(); i++) {
            out.add(inference.taskStatistics(i, merged));
        }
        return out;
    }

    /** Each task's statistics at a layer, with the first iteration's G where a later one has none. */
    private static List<GramStatistics> perTask(List<Map<String, GramStatistics>> stats, List<Map<String, GramStatistics>> first,
                                                String layer) {
        List<GramStatistics> out = new ArrayList<>();
        for (int i = 0; i < stats.size(); i++) {
            GramStatistics s = stats.get(i).get(layer);
            out.add(s.hasG() ? s : s.withG(first.get(i).get(layer).g()));
        }
        return out;
    }
}
