package io.iteris.bench.quality;

import io.iteris.core.merge.MergeMethod;

import java.util.List;
import java.util.Map;

/**
 * IterIS with its ridge α and number of solves chosen without a single label, as its users must: each candidate
 * merge is scored by how often the merged model picks the class each task's own LoRA model picks, on unlabelled
 * calibration samples no merge sees (as many as it merges on, the pool's window after the draws'). The LoRA models are
 * the teachers the merge is meant to reproduce, so agreement with them is the quantity a label-free user can measure.
 * As with labels, the search has two steps: the paper's α and solves, then the anchor at task arithmetic with that α,
 * its scale the task arithmetic λ that agrees best and its strength from {@link TuningGrids#ANCHOR_STRENGTHS}. The
 * choice is made once, on draw 0, as every method's hyper-parameters are, and its merges are label-tuned IterIS's own
 * (same grid, same draw): only the scoring differs.
 */
final class LabelFreeIteris {
    /** The choice: α, solves, its held-out agreement. */
    record Choice(Map<String, Object> params, int solves, double agreement) {
        double alpha1() {
            return ((Number) params.get("alpha_1")).doubleValue();
        }

        double alpha2() {
            return ((Number) params.get("alpha_2")).doubleValue();
        }

        /** "none" or "s 0.3, β 0.01". */
        String anchor() {
            return params.containsKey("anchor_strength")
                    ? "s " + params.get("anchor_scale") + ", β " + params.get("anchor_strength") : "none";
        }

        /** IterIS with these parameters, stopped after the chosen solves. */
        MergeMethod method() {
            return QualityBenchmark.solvesOf("iteris", params, solves);
        }
    }

    private final QualityBenchmark b;

    LabelFreeIteris(QualityBenchmark b) {
        this.b = b;
    }

    Choice choose(int mask) {
        BenchTasks suite = b.suite();
        int samples = b.calibration();
        int heldOut = suite.window(samples, b.draws());
        Choice[] best = new Choice[1];
        search(b.grid("iteris"), mask, heldOut, best);
        double s = b.anchorScale(mask, d -> suite.agreement(d, mask, heldOut, samples));
        search(b.anchoredGrid(best[0].params(), s), mask, heldOut, best);
        return best[0];
    }

    private void search(List<Map<String, Object>> grid, int mask, int heldOut, Choice[] best) {
        BenchTasks suite = b.suite();
        int samples = b.calibration();
        for (Map<String, Object> p : grid) {
            suite.merge(QualityBenchmark.method("iteris", p), mask, samples, 0, (k, merged) -> {
                double agreement = suite.agreement(merged, mask, heldOut, samples);
                if (best[0] == null || agreement > best[0].agreement() + 1e-12) {
                    best[0] = new Choice(p, k + 1, agreement);
                }
            });
        }
    }
}
