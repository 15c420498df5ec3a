package io.iteris.core.engine;

import io.iteris.core.model.Calibration;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The inference half of a merge, one calibration shard at a time: the shard's layer inputs under its task's
 * own LoRA model (computed once and kept), and its statistics against the current merged model. The local
 * engine and the actors' inference workers both compute through this class, which is why their results
 * agree to the bit.
 */
public final class ShardInference {
    private final MergeInputs inputs;
    private final ModelRunner runner;
    private final List<List<INDArray>> shards = new ArrayList<>();
    private final Map<Long, Map<String, INDArray>> features = new HashMap<>();
    /** Per layer, the layer whose statistics it shares ({@link StatisticsSharing}). */
    private final Map<String, String> leaders;

    /**
     * @param calibration per task, its samples [S, T, d]
     * @param shardSize   samples per shard (0 = one shard per task)
     */
    public ShardInference(MergeInputs inputs, ModelRunner runner, List<INDArray> calibration, int shardSize) {
        this.inputs = inputs;
        this.runner = runner;
        this.leaders = StatisticsSharing.leaders(inputs.layers(), runner.inputOf());
        for (INDArray samples : calibration) {
            shards.add(Calibration.shards(samples, shardSize));
        }
    }

    public int taskCount() {
        return shards.size();
    }

    public int shardCount(int task) {
        return shards.get(task).size();
    }

    /** The shard's layer inputs X under task {@code task}'s own LoRA model (cached). */
    public synchronized Map<String, INDArray> features(int task, int shard) {
        return features.computeIfAbsent(((long) task << 32) | shard,
                // a shared input is kept once, under its statistics layer
                k -> StatisticsSharing.leadersOnly(runner.capture(inputs.taskWeights(task), shards.get(task).get(shard)), leaders));
    }

    /**
     * The shard's statistics per layer: at iteration 0 ({@code mergedDeltas} null) G alone, with C = H = G;
     * later C and H against the merged model W0 + ΔW, and G only when {@code withG} (X never changes, so G is
     * the first iteration's; it is recomputed only to refill a solver that lost it). Layers that share an input
     * share one statistics object, computed once.
     */
    public Map<String, GramStatistics> statistics(int task, int shard, Map<String, INDArray> mergedDeltas, boolean withG) {
        Map<String, INDArray> x = features(task, shard);
        // against the merged model, the runner multiplies X̃ with X where it runs the model (on a GPU, in its session)
        Map<String, GramStatistics> merged = mergedDeltas == null ? null
                : runner.statistics(inputs.mergedWeights(mergedDeltas), shards.get(task).get(shard), x, withG);
        Map<String, GramStatistics> out = new LinkedHashMap<>();
        for (String layer : inputs.layers()) {
            String leader = leaders.get(layer);
            out.put(layer, leader.equals(layer) ? (merged == null ? GramStatistics.ofFeatures(x.get(layer)) : merged.get(layer))
                    : out.get(leader));
        }
        return out;
    }

    /** One task's statistics over all its shards, summed in shard order (after iteration 0 without G). */
    public Map<String, GramStatistics> taskStatistics(int task, Map<String, INDArray> mergedDeltas) {
        List<Map<String, GramStatistics>> perShard = new ArrayList<>();
        for (int s = 0; s < shardCount(task); s++) {
            perShard.add(statistics(task, s, mergedDeltas, false));
        }
        Map<String, GramStatistics> out = new LinkedHashMap<>();
        for (String layer : inputs.layers()) {
            String leader = leaders.get(layer);
            out.put(layer, leader.equals(layer) ? GramStatistics.sumInOrder(perShard.stream().map(m -> m.get(layer)).toList())
                    : out.get(leader));
        }
        return out;
    }
}
