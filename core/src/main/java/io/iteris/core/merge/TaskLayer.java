package io.iteris.core.merge;

import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One task's part in merging one layer.
 *
 * @param task       the adapter's name
 * @param delta      ΔW_i = s_i·B_i·A_i, [out×in] float64
 * @param manualCoef the user's weight m_i for this task (1 by default)
 * @param stats      the task's statistics at this layer, or null for methods that need no calibration data
 */
public record TaskLayer(String task, INDArray delta, double manualCoef, GramStatistics stats) {
}
