package io.iteris.core.engine;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.LayerMergeInput;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.merge.TaskLayer;
import io.iteris.core.model.Calibration;
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

    /** Hears about each solve as it completes (progress, test-vector recording). */
    public interface Listener {
        void onIteration(IterationReport report, Map<String, INDArray> mergedDeltas);
    }

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
        this.method = method;
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

    public MergeOutcome run(Listener listener) {
        long start = System.nanoTime();
        boolean needsData = method.dataNeeds() != MergeMethod.DataNeeds.NONE;
        // features.get(task).get(shard) = that shard's layer inputs under the task's own LoRA model
        List<List<Map<String, INDArray>>> features = new ArrayList<>();
        List<Map<String, GramStatistics>> stats = new ArrayList<>();
        long inferenceNanos = 0;
        if (needsData) {
            long t0 = System.nanoTime();
            for (int i = 0; i < inputs.taskCount(); i++) {
                List<Map<String, INDArray>> perShard = new ArrayList<>();
                for (INDArray shard : Calibration.shards(calibration.get(i), shardSize)) {
                    perShard.add(runner.run(inputs.taskWeights(i), shard, true).layerInputs());
                }
                features.add(perShard);
                stats.add(featureStatistics(perShard));
            }
            inferenceNanos = System.nanoTime() - t0;
        }
        List<IterationReport> reports = new ArrayList<>();
        Map<String, INDArray> previous = null;
        Map<String, INDArray> merged = null;
        Map<String, LayerMergeResult> results = null;
        int solves = method.dataNeeds() == MergeMethod.DataNeeds.ITERATIVE ? method.solves() : 1;
        for (int it = 0; it < solves; it++) {
            long t0 = System.nanoTime();
            results = new LinkedHashMap<>();
            merged = new LinkedHashMap<>();
            for (String layer : inputs.layers()) {
                LayerMergeResult r = method.mergeLayer(layerInput(layer, it, needsData ? stats : null));
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
            IterationReport report = new IterationReport(it, results, change, inferenceNanos, solveNanos);
            reports.add(report);
            log.info("{} solve {}/{}: max relative change of dW {}", method.name(), it + 1, solves,
                    previous == null ? "-" : String.format("%.3e", report.maxRelativeChange()));
            if (listener != null) {
                listener.onIteration(report, merged);
            }
            if (it == solves - 1 || converged(report)) {
                break;
            }
            previous = merged;
            long t1 = System.nanoTime();
            stats = mergedStatistics(features, inputs.mergedWeights(merged));
            inferenceNanos = System.nanoTime() - t1;
        }
        return new MergeOutcome(merged, results, reports, System.nanoTime() - start);
    }

    private boolean converged(IterationReport report) {
        if (!(method instanceof io.iteris.core.merge.IterisMethod im)) {
            return false;
        }
        double tol = im.params().earlyStopTolerance();
        boolean stop = tol > 0 && report.iteration() > 0 && report.maxRelativeChange() < tol;
        if (stop) {
            log.info("stopping early: change {} < tolerance {}", report.maxRelativeChange(), tol);
        }
        return stop;
    }

    private LayerMergeInput layerInput(String layer, int iteration, List<Map<String, GramStatistics>> stats) {
        List<TaskLayer> tasks = new ArrayList<>();
        for (int i = 0; i < inputs.taskCount(); i++) {
            NamedAdapter a = inputs.adapters().get(i);
            tasks.add(new TaskLayer(a.name(), inputs.deltas(layer).get(i), a.manualCoef(),
                    stats == null ? null : stats.get(i).get(layer)));
        }
        return new LayerMergeInput(layer, inputs.w0(layer), tasks, iteration);
    }

    private Map<String, GramStatistics> featureStatistics(List<Map<String, INDArray>> perShard) {
        Map<String, GramStatistics> out = new LinkedHashMap<>();
        for (String layer : inputs.layers()) {
            List<GramStatistics> shards = new ArrayList<>();
            for (Map<String, INDArray> f : perShard) {
                shards.add(GramStatistics.ofFeatures(f.get(layer)));
            }
            out.put(layer, GramStatistics.sumInOrder(shards));
        }
        return out;
    }

    /** Runs the merged model on every task's shards and pairs its layer inputs X̃ with the stored X. */
    private List<Map<String, GramStatistics>> mergedStatistics(List<List<Map<String, INDArray>>> features,
                                                               Map<String, INDArray> mergedWeights) {
        List<Map<String, GramStatistics>> out = new ArrayList<>();
        for (int i = 0; i < inputs.taskCount(); i++) {
            List<INDArray> shards = Calibration.shards(calibration.get(i), shardSize);
            List<Map<String, INDArray>> tilde = new ArrayList<>();
            for (INDArray shard : shards) {
                tilde.add(runner.run(mergedWeights, shard, true).layerInputs());
            }
            Map<String, GramStatistics> perLayer = new LinkedHashMap<>();
            for (String layer : inputs.layers()) {
                List<GramStatistics> parts = new ArrayList<>();
                for (int s = 0; s < shards.size(); s++) {
                    parts.add(GramStatistics.of(features.get(i).get(s).get(layer), tilde.get(s).get(layer)));
                }
                perLayer.put(layer, GramStatistics.sumInOrder(parts));
            }
            out.add(perLayer);
        }
        return out;
    }
}
