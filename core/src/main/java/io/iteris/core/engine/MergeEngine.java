package io.iteris.core.engine;

import io.iteris.core.config.MergeSettings;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * Something that runs a merge to its outcome: {@link #LOCAL} in this process, or the actor engine on a
 * cluster. Both produce the same {@link MergeOutcome} for the same settings, to the bit.
 */
public interface MergeEngine {

    /** Hears about each solve as it completes (progress, test-vector recording). */
    interface Listener {
        void onIteration(IterationReport report, Map<String, INDArray> mergedDeltas);
    }

    /** Merges; the listener (may be null) hears every solve in order. Publishes nothing. */
    MergeOutcome merge(MergeSettings settings, Listener listener);

    MergeEngine LOCAL = (settings, listener) -> {
        // the inputs, the model and the calibration on the CPU, with no output folder checked: nothing is published
        return Merger.withData(Merger.loadMergeInputs(settings)).localEngine().run(listener);
    };
}
