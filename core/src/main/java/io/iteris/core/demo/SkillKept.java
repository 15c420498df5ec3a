package io.iteris.core.demo;

import io.iteris.core.engine.MergeInputs;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.ModelRunner;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * How much of a task's skill a merged model keeps, judged without labels on held-out inputs of that task:
 * 1 − ‖f_merged(x) − f_task(x)‖_F / ‖f_base(x) − f_task(x)‖_F. It is 1 when the merged model behaves exactly
 * like the task's own LoRA model, 0 when it is no closer to it than the base model, negative when further.
 */
public final class SkillKept {
    private SkillKept() {
    }

    public static double of(ModelRunner runner, MergeInputs inputs, Map<String, INDArray> mergedDeltas, int task, INDArray x) {
        INDArray yTask = runner.run(inputs.taskWeights(task), x, false).output();
        INDArray yMerged = runner.run(inputs.mergedWeights(mergedDeltas), x, false).output();
        Map<String, INDArray> zero = new java.util.LinkedHashMap<>();
        for (String l : inputs.layers()) {
            zero.put(l, Matrices.zeros(inputs.w0(l).size(0), inputs.w0(l).size(1)));
        }
        INDArray yBase = runner.run(inputs.mergedWeights(zero), x, false).output();
        double gap = Matrices.frobenius(yBase.sub(yTask));
        return 1 - Matrices.frobenius(yMerged.sub(yTask)) / gap;
    }
}
