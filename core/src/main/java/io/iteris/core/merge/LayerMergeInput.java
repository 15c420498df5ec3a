package io.iteris.core.merge;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * Everything a merge method may use to merge one layer.
 *
 * @param layer     PEFT module name, e.g. {@code model.layers.3.self_attn.q_proj}
 * @param w0        the base weight W0 [out×in], float64 (nn.Linear layout)
 * @param tasks     the tasks in job order
 * @param iteration 0-based solve index (IterIS); 0 for one-shot methods
 */
public record LayerMergeInput(String layer, INDArray w0, List<TaskLayer> tasks, int iteration) {
    public LayerMergeInput {
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("layer " + layer + ": no tasks to merge");
        }
    }

    public int taskCount() {
        return tasks.size();
    }
}
