package io.iteris.core.merge;

import java.util.Map;

/**
 * A way of merging task LoRAs, one layer at a time. Implementations hold their parameters (read once
 * from config) and no other state, so layers can be merged in any order and on any thread or node.
 */
public interface MergeMethod {

    /** What a method needs besides the weights. */
    enum DataNeeds {
        /** Weights only (task arithmetic, TIES, DARE, average). */
        NONE,
        /** Statistics of each task model's own layer inputs, once (RegMean). */
        FEATURES,
        /** Statistics refreshed by running the merged model after every solve (IterIS). */
        ITERATIVE
    }

    /** Registry name, as written in config and on the command line. */
    String name();

    /** Human-readable name. */
    String displayName();

    /** Where the method is defined (paper). */
    String reference();

    DataNeeds dataNeeds();

    /** How many solves a merge takes (IterIS: its iterations; others 1). */
    default int solves() {
        return 1;
    }

    /**
     * Whether an iterative method's loop ends after solve {@code iteration} (0-based), given the largest relative
     * change of ΔW from the solve before; the engines ask after every solve but the last.
     */
    default boolean converged(int iteration, double maxRelativeChange) {
        return false;
    }

    /**
     * The method ready for one job's layers. A method whose per-layer rule needs a quantity of the whole model
     * (KnOTS trims each task's top entries over its whole concatenated representation, every layer together) computes
     * it here from the weights alone and returns a copy that holds it; every engine and node calls this on the same
     * layers and gets the same copy. {@code layers} yields each layer's input without statistics, built on demand.
     * Most methods are per layer and return themselves. Preparing a prepared method returns it unchanged.
     */
    default MergeMethod prepare(Iterable<LayerMergeInput> layers) {
        return this;
    }

    /** The method's parameters, for reports. */
    Map<String, Object> parameters();

    LayerMergeResult mergeLayer(LayerMergeInput input);
}
