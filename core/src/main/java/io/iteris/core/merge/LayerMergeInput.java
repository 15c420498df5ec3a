package io.iteris.core.merge;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * Everything a merge method may use to merge one layer.
 *
 * @param layer        PEFT module name, e.g. {@code model.layers.3.self_attn.q_proj}
 * @param w0           the base weight W0 [out×in], float64 (nn.Linear layout)
 * @param tasks        the tasks in job order
 * @param iteration    0-based solve index (IterIS); 0 for one-shot methods
 * @param coefficients IterIS's adaptive coefficients c_i from an earlier solve of this layer in the same job, or
 *                     null: they depend only on the task models' inputs and weights, which never change, so they
 *                     are computed once (the costly part of a first solve) and handed back on later solves
 */
public record LayerMergeInput(String layer, INDArray w0, List<TaskLayer> tasks, int iteration, double[] coefficients) {
    public LayerMergeInput {
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("layer " + layer + ": no tasks to merge");
        }
        if (coefficients != null && coefficients.length != tasks.size()) {
            throw new IllegalArgumentException("layer " + layer + ": " + coefficients.length + " coefficients for "
                    + tasks.size() + " tasks");
        }
    }

    public LayerMergeInput(String layer, INDArray w0, List<TaskLayer> tasks, int iteration) {
        this(layer, w0, tasks, iteration, null);
    }

    public int taskCount() {
        return tasks.size();
    }

    /** Whether every task's update is given as LoRA factors (the exact low-rank solve applies). */
    public boolean allLora() {
        return tasks.stream().allMatch(t -> t.lora() != null);
    }
}
