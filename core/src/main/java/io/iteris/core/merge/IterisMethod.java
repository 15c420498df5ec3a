package io.iteris.core.merge;

import com.typesafe.config.Config;

import java.util.Map;

/** IterIS (Chen et al., CVPR 2025): iterative inference-solving alignment. */
public final class IterisMethod implements MergeMethod {
    public static final String NAME = "iteris";
    private final IterisParameters params;

    public IterisMethod(Config config) {
        this(IterisParameters.fromConfig(config));
    }

    public IterisMethod(IterisParameters params) {
        this.params = params;
    }

    public IterisParameters params() {
        return params;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String displayName() {
        return "IterIS";
    }

    @Override
    public String reference() {
        return "https://arxiv.org/abs/2411.15231";
    }

    @Override
    public DataNeeds dataNeeds() {
        return DataNeeds.ITERATIVE;
    }

    @Override
    public int solves() {
        return params.iterations();
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
