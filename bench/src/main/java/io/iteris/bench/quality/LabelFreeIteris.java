package io.iteris.bench.quality;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * IterIS with its ridge α and number of solves chosen without a single label, as its users must: each candidate
 * merge is scored by how often the merged model picks the class each task's own LoRA model picks, on unlabelled
 * calibration samples the merge did not see (as many as it merges on, the pool's window after the draws'). The LoRA models are the
 * teachers the merge is meant to reproduce, so agreement with them is the quantity a label-free user can measure.
 * As with labels, the search has two steps: the paper's α and solves, then the anchor at task arithmetic with that α,
 * its scale the task arithmetic λ that agrees best and its strength from {@link TuningGrids#ANCHOR_STRENGTHS}.
 */
final class LabelFreeIteris {
    /** The choice on one draw: α, solves, its held-out agreement, and that merge's published updates. */
    record Choice(int draw, Map<String, Object> params, int solves, double agreement, Map<String, INDArray> deltas) {
        double alpha1() {
            return ((Number) params.get("alpha_1")).doubleValue();
        }

        double alpha2() {
            return ((Number) params.get("alpha_2")).doubleValue();
        }

        /** "paper" or "s 0.3, β 0.01". */
        String anchor() {
            return params.containsKey("anchor_strength")
                    ? "s " + params.get("anchor_scale") + ", β " + params.get("anchor_strength") : "none";
        }
    }

    private final QualityBenchmark b;

    LabelFreeIteris(QualityBenchmark b) {
        this.b = b;
    }

    Choice choose(int mask, int draw) {
        BenchTasks suite = b.suite();
        int samples = b.calibration();
        int heldOut = suite.window(samples, b.draws());
        Choice[] best = new Choice[1];
        search(b.grid("iteris"), mask, draw, heldOut, best);
        double s = b.anchorScale(mask, d -> suite.agreement(d, mask, heldOut, samples));
        search(b.anchoredGrid(best[0].params(), s), mask, draw, heldOut, best);
        return best[0];
    }

    private void search(List<Map<String, Object>> grid, int mask, int draw, int heldOut, Choice[] best) {
        BenchTasks suite = b.suite();
        int samples = b.calibration();
        for (Map<String, Object> p : grid) {
            suite.merge(QualityBenchmark.method("iteris", p), mask, samples, draw, (report, merged) -> {
                double agreement = suite.agreement(merged, mask, heldOut, samples);
                if (best[0] == null || agreement > best[0].agreement() + 1e-12) {
                    best[0] = new Choice(draw, p, report.iteration() + 1, agreement, new HashMap<>(merged));
                }
            });
        }
    }
}
