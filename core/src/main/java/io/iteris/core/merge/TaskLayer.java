package io.iteris.core.merge;

import io.iteris.core.peft.LoraModule;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One task's part in merging one layer: its update either as LoRA factors (what adapters hold; the solvers
 * then take the exact low-rank path) or as a dense ΔW (inputs that are not LoRAs, and the tests' reference).
 *
 * @param task       the adapter's name
 * @param delta      ΔW_i [out×in] float64, or null when {@code lora} is given (then formed from it on demand)
 * @param manualCoef the user's weight m_i for this task (1 by default)
 * @param stats      the task's statistics at this layer, or null for methods that need no calibration data
 * @param lora       the factors with ΔW_i = s_i·B_i·A_i, or null for a dense update
 */
public record TaskLayer(String task, INDArray delta, double manualCoef, GramStatistics stats, LoraModule lora) {

    public TaskLayer {
        if (delta == null && lora == null) {
            throw new IllegalArgumentException("task " + task + ": neither a delta nor LoRA factors");
        }
    }

    /** A dense update. */
    public TaskLayer(String task, INDArray delta, double manualCoef, GramStatistics stats) {
        this(task, delta, manualCoef, stats, null);
    }

    /** A LoRA update; ΔW is formed only if a dense method asks for it. */
    public static TaskLayer ofLora(String task, LoraModule lora, double manualCoef, GramStatistics stats) {
        return new TaskLayer(task, null, manualCoef, stats, lora);
    }

    /** ΔW_i [out×in]: the dense update, or s_i·B_i·A_i formed afresh (callers keep it if they need it twice). */
    @Override
    public INDArray delta() {
        return delta != null ? delta : lora.delta();
    }

    /** The same update with other statistics and weight. */
    public TaskLayer with(double manualCoef, GramStatistics stats) {
        return new TaskLayer(task, delta, manualCoef, stats, lora);
    }
}
