package io.iteris.bench.quality;

import io.iteris.core.engine.MergeInputs;
import io.iteris.core.merge.MergeMethod;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * IterIS followed by the {@link FeatureRefinement}, on suites whose model can run it. Two rows, as for IterIS itself:
 * {@link #TUNED} refines label-tuned IterIS's merges, its rate and steps chosen on the validation labels;
 * {@link #LABEL_FREE} refines label-free IterIS's merges, its rate and steps chosen by held-out agreement with the task
 * models (the window {@link LabelFreeIteris} scores on). Both are chosen once, on draw 0, from {@link FeatureRefinement#grid}.
 */
final class RefinedIteris {
    static final String TUNED = "iteris_refined";
    static final String LABEL_FREE = "iteris_refined_label_free";

    /** A choice and the score it was chosen by (validation mean normalised accuracy, or held-out agreement). */
    record Choice(FeatureRefinement.Settings settings, double score) {
    }

    private final QualityBenchmark b;
    private final FeatureRefinement refinement;
    Choice tuned;
    Choice labelFree;

    RefinedIteris(QualityBenchmark b, FeatureRefinement refinement) {
        this.b = b;
        this.refinement = refinement;
    }

    /** Chooses both rows' settings on draw 0 of the merge of every task in {@code mask}. */
    void choose(int mask, MergeMethod labelTuned, MergeMethod labelFreeIteris) {
        BenchTasks suite = b.suite();
        MergeInputs in = suite.inputs(mask);
        int samples = b.calibration();
        int heldOut = suite.window(samples, b.draws());
        Map<String, INDArray> start = suite.merge(labelTuned, mask, samples, 0, null);
        Map<String, INDArray> startFree = suite.merge(labelFreeIteris, mask, samples, 0, null);
        for (FeatureRefinement.Settings s : FeatureRefinement.grid(b.quick())) {
            double v = b.normalisedMean(in, refine(start, mask, 0, s), mask, QualityBenchmark.VAL, suite.validationItems());
            if (tuned == null || v > tuned.score() + 1e-12) {
                tuned = new Choice(s, v);
            }
            double agreement = suite.agreement(refine(startFree, mask, 0, s), mask, heldOut, samples);
            if (labelFree == null || agreement > labelFree.score() + 1e-12) {
                labelFree = new Choice(s, agreement);
            }
        }
    }

    /** The last refinement asked for: where label-free IterIS chose label-tuned IterIS's merge, the two rows ask twice in turn. */
    private record Last(Map<String, INDArray> start, int mask, int draw, FeatureRefinement.Settings settings, Map<String, INDArray> result) {
    }

    private Last last;

    /**
     * The refined merge of the masked tasks on a draw, from the IterIS merge {@code start} of that draw. The same start (the
     * very merge, as the merge cache hands it out) with the same settings is refined once, and its result is the same object,
     * so its scores are measured once too.
     */
    Map<String, INDArray> refine(Map<String, INDArray> start, int mask, int draw, FeatureRefinement.Settings s) {
        if (last != null && last.start() == start && last.mask() == mask && last.draw() == draw && last.settings().equals(s)) {
            return last.result();
        }
        Map<String, INDArray> result = refineAnew(start, mask, draw, s);
        last = new Last(start, mask, draw, s, result);
        return result;
    }

    private Map<String, INDArray> refineAnew(Map<String, INDArray> start, int mask, int draw, FeatureRefinement.Settings s) {
        BenchTasks suite = b.suite();
        MergeInputs in = suite.inputs(mask);
        int samples = b.calibration();
        List<INDArray> calibration = new ArrayList<>();
        in.adapters().forEach(a -> calibration.add(suite.calibration(a.name(), suite.window(samples, draw), samples)));
        return refinement.refine(in, start, calibration, s);
    }

    /** Whether a settings value lies at the least or greatest of its grid: "rate (least)", or "no". */
    static String edge(FeatureRefinement.Settings s) {
        List<String> at = new ArrayList<>();
        double[] r = FeatureRefinement.RATES;
        int[] k = FeatureRefinement.STEPS;
        if (s.rate() == r[0] || s.rate() == r[r.length - 1]) {
            at.add("rate (" + (s.rate() == r[0] ? "least" : "greatest") + ")");
        }
        if (s.steps() == k[0] || s.steps() == k[k.length - 1]) {
            at.add("steps (" + (s.steps() == k[0] ? "least" : "greatest") + ")");
        }
        return at.isEmpty() ? "no" : String.join(", ", at);
    }
}
