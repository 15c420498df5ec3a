package io.iteris.bench.quality;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.HashMap;
import java.util.Map;

/**
 * IterIS with its ridge α and number of solves chosen without a single label, as its users must: each candidate
 * merge is scored by how often the merged model picks the class each task's own LoRA model picks, on unlabelled
 * calibration samples the merge did not see (as many as it merges on, the pool's window after the draws'). The LoRA models are the
 * teachers the merge is meant to reproduce, so agreement with them is the quantity a label-free user can measure.
 */
final class LabelFreeIteris {
    /** The choice on one draw: α, solves, its held-out agreement, and that merge's published updates. */
    record Choice(int draw, double alpha1, double alpha2, int solves, double agreement, Map<String, INDArray> deltas) {
    }

    private final QualityBenchmark b;

    LabelFreeIteris(QualityBenchmark b) {
        this.b = b;
    }

    Choice choose(int mask, int draw) {
        BenchTasks suite = b.suite();
        int samples = b.calibration();
        int heldOut = suite.window(samples, b.draws());
        int count = samples;
        Choice[] best = new Choice[1];
        for (Map<String, Object> p : b.grid("iteris")) {
            double alpha1 = ((Number) p.get("alpha_1")).doubleValue();
            double alpha2 = ((Number) p.get("alpha_2")).doubleValue();
            suite.merge(QualityBenchmark.method("iteris", p), mask, samples, draw, (report, merged) -> {
                double agreement = suite.agreement(merged, mask, heldOut, count);
                if (best[0] == null || agreement > best[0].agreement() + 1e-12) {
                    best[0] = new Choice(draw, alpha1, alpha2, report.iteration() + 1, agreement, new HashMap<>(merged));
                }
            });
        }
        return best[0];
    }
}
