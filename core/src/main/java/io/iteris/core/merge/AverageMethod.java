package io.iteris.core.merge;

import com.typesafe.config.Config;

import java.util.Map;

/** Simple average of the task deltas: ΔW = (1/N)·Σ ΔW_i (manual coefficients weigh the sum). */
public final class AverageMethod extends DescribedMethod {
    public static final String NAME = "average";

    public AverageMethod(Config config) {
        super(NAME, "Average", "https://arxiv.org/abs/2203.05482", DataNeeds.NONE);
        // no parameters
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
