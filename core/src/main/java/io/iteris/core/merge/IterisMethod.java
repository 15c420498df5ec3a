package io.iteris.core.merge;

import com.typesafe.config.Config;

import java.util.Map;

/** IterIS (Chen et al., CVPR 2025): iterative inference-solving alignment. */
public final class IterisMethod extends DescribedMethod {
    public static final String NAME = "iteris";
    private final IterisParameters params;

    public IterisMethod(Config config) {
        this(IterisParameters.fromConfig(config));
    }

    public IterisMethod(IterisParameters params) {
        super(NAME, "IterIS", "https://arxiv.org/abs/2411.15231", DataNeeds.ITERATIVE);
        this.params = params;
    }

    public IterisParameters params() {
        return params;
    }

    @Override
    public int solves() {
        return params.iterations();
    }

    /** IterIS's early stop: the change between two solves fell below {@code early_stop_tolerance}. */
    @Override
    public boolean converged(int iteration, double maxRelativeChange) {
        double tol = params.earlyStopTolerance();
        return tol > 0 && iteration > 0 && maxRelativeChange < tol;
    }

    @Override
    public Map<String, Object> parameters() {
        return params.asMap();
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        return IterisSolver.solve(input, params);
    }
}
