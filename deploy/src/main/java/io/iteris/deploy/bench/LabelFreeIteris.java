package io.iteris.deploy.bench;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.HashMap;
import java.util.Map;

/**
 * IterIS with its ridge α and number of solves chosen without a single label, as its users must: each candidate
 * merge is scored by how often the merged model picks the class each task's own LoRA model picks, on unlabelled
 * calibration samples the merge did not see (the pool after the draws' windows). The LoRA models are the
 * teachers the merge is meant to reproduce, so agreement with them is the quantity a label-free user can measure.
 */
final class LabelFreeIteris {
    /** The choice on one draw: α, solves, its held-out agreement, and that merge's published updates. */
    record Choice(int draw, double alpha, int solves, double agreement, Map<String, INDArray> deltas) {
    }

    /** Held-out samples per task the choice is made on, where the pool has them. */
    static final int HELD_OUT = 128;
    private final QualityBenchmark b;

    LabelFreeIteris(QualityBenchmark b) {
        this.b = b;
    }

    Choice choose(int mask, int draw) {
        BenchTasks suite = b.suite();
        int samples = b.calibration();
        int heldOut = suite.window(samples, b.draws());
        // as many held-out samples as the pool has after the draws' windows, up to 128 per task: agreement on a few
        // dozen samples moves by several points from one draw to the next
        int count = Math.min(suite.calibrationPool() - heldOut, Math.max(samples, HELD_OUT));
        Choice[] best = new Choice[1];
        for (double alpha : suite.iterisAlphas(b.quick())) {
            Map<String, Object> p = Map.of("alpha_1", alpha, "alpha_2", alpha, "iterations", suite.maxSolves(b.quick()));
            suite.merge(QualityBenchmark.method("iteris", p), mask, samples, draw, (report, merged) -> {
                double agreement = suite.agreement(merged, mask, heldOut, count);
                if (best[0] == null || agreement > best[0].agreement() + 1e-12) {
                    best[0] = new Choice(draw, alpha, report.iteration() + 1, agreement, new HashMap<>(merged));
                }
            });
        }
        return best[0];
    }
}
