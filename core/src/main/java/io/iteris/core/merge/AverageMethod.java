package io.iteris.core.merge;

import com.typesafe.config.Config;

import java.util.Map;

/** Simple average of the task deltas: ΔW = (1/N)·Σ ΔW_i (manual coefficients weigh the sum). */
public final class AverageMethod implements MergeMethod {
    public static final String NAME = "average";

    public AverageMethod(Config config) {
        // no parameters
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String displayName() {
        return "Average";
    }

    @Override
    public String reference() {
        return "https://arxiv.org/abs/2203.05482";
    }

    @Override
    public DataNeeds dataNeeds() {
        return DataNeeds.NONE;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of();
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        return LayerMergeResult.of(TaskArithmeticMethod.weightedSum(input, 1.0 / input.taskCount()));
    }
}
