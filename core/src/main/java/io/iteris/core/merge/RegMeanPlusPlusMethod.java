package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.stats.GramStatistics;

import java.util.Map;

/**
 * RegMean++ (Nguyen et al., 2025, "RegMean++: Enhancing Effectiveness and Generalization of Regression Mean for
 * Model Merging"): RegMean's regression W = (Σ (W0+ΔW_i) G̃_i)(Σ G̃_i)⁻¹, but each layer's Gram matrices come from
 * the inputs the layer receives in the model whose lower layers are already merged (X̃_iᵀX̃_i on task i's
 * samples), not in task i's own model. Merged in forward order, every layer then fits the data it will really see.
 *
 * <p>Computed with the engines' own loop, which needs no notion of layer order: every pass solves every layer on
 * the merged model of the pass before (the first pass has no merged model and is plain RegMean). A layer's inputs
 * depend only on the layers below it, so after pass d every layer of depth ≤ d holds its forward-order result and
 * never changes again: after as many passes as the model has levels, the next pass reproduces the last bit for
 * bit, and the merge stops there. This is the paper's layer-by-layer merge, exactly, at the price of the deepest
 * layer's depth + 1 inference passes ({@code max_passes} caps them). Where a block holds several merged layers in
 * sequence (attention output after query and value), the later ones see the block's merged earlier ones, where the
 * paper runs the block of model i; for query/value or MLP-per-layer LoRAs the two coincide.
 */
public final class RegMeanPlusPlusMethod extends DescribedMethod {
    public static final String NAME = "regmean_pp";
    private final RegMeanMethod regMean;
    private final double nondiagScale;
    private final int maxPasses;

    public RegMeanPlusPlusMethod(Config config) {
        this(config.getDouble("nondiag_scale"), config.getInt("max_passes"));
    }

    public RegMeanPlusPlusMethod(double nondiagScale, int maxPasses) {
        super(NAME, "RegMean++", "https://arxiv.org/abs/2508.03121", DataNeeds.ITERATIVE);
        if (maxPasses < 1) {
            throw new IllegalArgumentException("regmean_pp max_passes must be at least 1, got " + maxPasses);
        }
        this.regMean = new RegMeanMethod(nondiagScale);
        this.nondiagScale = nondiagScale;
        this.maxPasses = maxPasses;
    }

    @Override
    public int solves() {
        return maxPasses;
    }

    /** The forward-order result is reached once a pass changes nothing. */
    @Override
    public boolean converged(int iteration, double maxRelativeChange) {
        return iteration > 0 && maxRelativeChange == 0;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("nondiag_scale", nondiagScale, "max_passes", maxPasses);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        return regMean.regress(input, GramStatistics::h, NAME);
    }
}
