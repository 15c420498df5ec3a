package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * RegMean (Jin et al., ICLR 2023): W = (Σ (W0+ΔW_i) G̃_i)(Σ G̃_i)⁻¹ with G̃ = s·G + (1−s)·diag(G).
 * It is exactly the IterIS solve with one iteration, ω ≡ 1, α = 0 and ρ = 0 on the Grams G̃, which is how
 * it is computed here, so the two methods cannot drift apart.
 *
 * <p>An input that is zero in every calibration row (a border pixel, a dead feature) leaves RegMean's system
 * singular and the weights on it undetermined by the data. There the merge takes the plain average of the
 * tasks' weights, which is what any solution would do with no data to go on; everywhere else the result is
 * exactly RegMean's.
 */
public final class RegMeanMethod extends DescribedMethod {
    public static final String NAME = "regmean";
    /**
     * RegMean's Σ(W0+ΔW_i)G̃_i·(ΣG̃_i)⁻¹ is W0 + ΣΔW_i G̃_i·(ΣG̃_i)⁻¹ exactly, so it is solved for the delta: no dense
     * product with W0, no cancellation in W − W0, and the exact low-rank solve when the updates are LoRAs.
     */
    private static final IterisParameters AS_ITERIS = new IterisParameters(1, 0, 0, 0, false, false, 0);
    private final double nondiagScale;

    public RegMeanMethod(Config config) {
        this(config.getDouble("nondiag_scale"));
    }

    public RegMeanMethod(double nondiagScale) {
        super(NAME, "RegMean", "https://arxiv.org/abs/2212.09849", DataNeeds.FEATURES);
        if (!(nondiagScale >= 0 && nondiagScale <= 1)) {
            throw new IllegalArgumentException("nondiag_scale must lie in [0, 1], got " + nondiagScale);
        }
        this.nondiagScale = nondiagScale;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("nondiag_scale", nondiagScale);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        return regress(input, GramStatistics::g, NAME);
    }

    /**
     * RegMean's solve on the Gram matrices {@code gram} picks from each task's statistics: G = XᵀX of the task
     * model's own inputs (RegMean), or H = X̃ᵀX̃ of the merged model's (RegMean++).
     */
    LayerMergeResult regress(LayerMergeInput input, java.util.function.Function<GramStatistics, INDArray> gram, String method) {
        List<TaskLayer> shrunk = new ArrayList<>();
        List<Long> dead = deadInputs(input, gram);
        for (TaskLayer t : input.tasks()) {
            INDArray raw = gram.apply(t.stats());
            INDArray g = shrink(raw);
            if (!dead.isEmpty()) {
                g = g == raw ? g.dup() : g;
                for (long j : dead) {
                    g.putScalar(j, j, 1.0);
                }
            }
            shrunk.add(t.with(1.0, new GramStatistics(g, g, g, t.stats().rows())));
        }
        LayerMergeResult r;
        try {
            r = IterisSolver.solve(new LayerMergeInput(input.layer(), input.w0(), shrunk, 0), AS_ITERIS);
        } catch (IllegalArgumentException e) {
            if (!(e.getCause() instanceof io.iteris.core.linalg.RightSolve.SingularSystemException singular)) {
                throw e;
            }
            throw new IllegalArgumentException("layer " + input.layer() + ": " + singular.getMessage() + "; set "
                    + "iteris.methods." + method + ".nondiag_scale below 1 (now " + nondiagScale + "; e.g. 0.9) or add calibration samples"
                    + " (RegMean's Gram matrices are singular with fewer calibration rows than the layer's " + input.w0().size(1) + " inputs)", e);
        }
        return new LayerMergeResult(r.delta(), Map.of(), r.solver(), r.factors());
    }

    /** Inputs with no signal in any task's calibration rows (zero Gram diagonal everywhere). */
    private static List<Long> deadInputs(LayerMergeInput input, java.util.function.Function<GramStatistics, INDArray> gram) {
        List<Long> dead = new ArrayList<>();
        long n = input.w0().size(1);
        for (long j = 0; j < n; j++) {
            double sum = 0;
            for (TaskLayer t : input.tasks()) {
                if (t.stats() == null) {
                    throw new IllegalArgumentException("layer " + input.layer() + ", task " + t.task() + ": RegMean needs features");
                }
                sum += gram.apply(t.stats()).getDouble(j, j);
            }
            if (sum == 0) {
                dead.add(j);
            }
        }
        return dead;
    }

    private INDArray shrink(INDArray g) {
        if (nondiagScale == 1.0) {
            return g;
        }
        INDArray out = g.mul(nondiagScale);
        for (long i = 0; i < g.size(0); i++) {
            out.putScalar(i, i, g.getDouble(i, i));
        }
        return out;
    }
}
