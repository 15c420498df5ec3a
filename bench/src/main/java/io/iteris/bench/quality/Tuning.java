package io.iteris.bench.quality;

import io.iteris.core.engine.MergeInputs;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The choice of every method's hyper-parameters for one {@link QualityBenchmark} run: the grids' candidates merged on
 * draw 0 of the merge of every task and scored on the validation split (screened first where the suite screens), then
 * label-free IterIS ({@link LabelFreeIteris}) and, where the suite's model can run it, the refinement
 * ({@link RefinedIteris}). The results go into the benchmark's {@code tuned}, {@code labelFree} and {@code refined}.
 */
final class Tuning {
    private final QualityBenchmark b;
    private final BenchTasks suite;
    private final int calibration;
    private final PrintStream log;

    Tuning(QualityBenchmark b, PrintStream log) {
        this.b = b;
        this.suite = b.suite();
        this.calibration = b.calibration();
        this.log = log;
    }

    /**
     * Chooses every method's parameters (and IterIS's number of solves) on the merge of every task, validation split,
     * draw 0. IterIS is searched in two steps: the paper's ridges α first; then, with that α, the anchor at task
     * arithmetic, its scale s being task arithmetic's own best λ and its strength β from {@link TuningGrids#ANCHOR_STRENGTHS}.
     * The anchored solve is kept only if it scores higher than the paper's. Label-free IterIS is then chosen the same way
     * from the same merges, by agreement instead of labels ({@link LabelFreeIteris}).
     */
    void run() {
        int all = BenchTasks.all(b.taskCount());
        MergeInputs in = suite.inputs(all);
        int limit = suite.validationItems();
        for (String m : b.methods) {
            QualityBenchmark.Tuned best = search(m, b.grid(m), in, all);
            if (m.equals("iteris") && best != null) {
                double s = anchorScale(b, all, d -> b.normalisedMean(in, d, all, QualityBenchmark.VAL, limit));
                QualityBenchmark.Tuned anchored = search(m, b.anchoredGrid(best.params(), s), in, all);
                if (anchored != null && anchored.validationScore() > best.validationScore() + 1e-12) {
                    best = anchored;
                }
            }
            if (best == null) {
                throw new IllegalStateException(m + " could not merge these tasks with any parameters of its grid");
            }
            b.tuned.put(m, best);
            log.printf("  tuned %-16s %s%s: validation mean normalised accuracy %.4f%n", m, best.params(),
                    m.equals("iteris") ? ", solves " + best.iterations() : "", best.validationScore());
        }
        atUnitLambda.clear();
        b.labelFree = new LabelFreeIteris(b).choose(all);
        log.printf("  label-free IterIS chose alpha_1 %.0e, alpha_2 %.0e, anchor %s and %d solves (held-out agreement %.4f)%n",
                b.labelFree.alpha1(), b.labelFree.alpha2(), b.labelFree.anchor(), b.labelFree.solves(), b.labelFree.agreement());
        FeatureRefinement refinement = suite.refinement();
        if (refinement != null && b.tuned.containsKey("iteris")) {
            b.refined = new RefinedIteris(b, refinement);
            b.refined.choose(all, b.tunedMethod("iteris"), b.labelFree.method());
            log.printf("  feature refinement: on validation %s (%.4f), without labels %s (held-out agreement %.4f)%n",
                    b.refined.tuned.settings(), b.refined.tuned.score(), b.refined.labelFree.settings(), b.refined.labelFree.score());
        }
    }

    /**
     * The best of {@code grid} on the validation split. Where the suite screens ({@link BenchTasks#screenItems}), every
     * candidate (each solve of an IterIS run is one) is scored on the first few validation items per task, and the best
     * {@link #finalists} of them on all the validation items the suite tunes on: successive halving, the same for every
     * method, so that a grid of dozens of points costs a few full evaluations.
     */
    private QualityBenchmark.Tuned search(String m, List<Map<String, Object>> grid, MergeInputs in, int all) {
        int limit = suite.validationItems();
        int screen = suite.screenItems();
        List<QualityBenchmark.Tuned> candidates = new ArrayList<>();
        for (Map<String, Object> params : grid) {
            try {
                tuningMerge(m, params, all, (k, d) -> candidates.add(
                        new QualityBenchmark.Tuned(m, params, k + 1, b.normalisedMean(in, d, all, QualityBenchmark.VAL, screen > 0 ? screen : limit))));
            } catch (IllegalArgumentException e) {
                // e.g. plain RegMean (nondiag_scale 1) on fewer calibration rows than inputs: singular
                log.printf("  %s %s cannot merge these tasks: %s%n", m, params, e.getMessage());
            }
        }
        if (screen > 0) {
            List<QualityBenchmark.Tuned> ranked = candidates.stream()
                    .sorted(java.util.Comparator.comparingDouble(QualityBenchmark.Tuned::validationScore).reversed()).toList();
            candidates.clear();
            for (QualityBenchmark.Tuned t : ranked.subList(0, Math.min(ranked.size(), finalists(ranked.size())))) {
                candidates.add(new QualityBenchmark.Tuned(m, t.params(), t.iterations(),
                        b.normalisedMean(in, tuningMerge(m, QualityBenchmark.solvesParams(m, t.params(), t.iterations()), all, null), all, QualityBenchmark.VAL, limit)));
            }
        }
        QualityBenchmark.Tuned best = null;
        for (QualityBenchmark.Tuned t : candidates) {
            // ties go to the earlier candidate: the grid's order (fewer solves first), or the screen's ranking when screened
            if (best == null || t.validationScore() > best.validationScore() + 1e-12) {
                best = t;
            }
        }
        return best;
    }

    /** Data-free methods' published updates at λ = 1, per setting of their other parameters ({@link #tuningMerge}). */
    private final Map<String, Map<String, INDArray>> atUnitLambda = new HashMap<>();

    /**
     * A merge of every task on draw 0, for tuning. Every data-free method here applies its λ last, as a factor on the
     * update (ΔW = λ·U: task arithmetic, TIES, DARE, TSV-M, Iso-CTS, KnOTS, WUDI, core space), and the published
     * adapter of λ·U is λ times U's, so the λ axis of a grid costs one merge: it is merged at λ = 1 and scaled (equal to
     * the merge at λ up to rounding). The chosen parameters are then merged directly, as users run them.
     */
    private Map<String, INDArray> tuningMerge(String m, Map<String, Object> params, int all, BenchTasks.Solves listener) {
        if (QualityBenchmark.needsData(m) || !params.containsKey("lambda")) {
            return suite.merge(QualityBenchmark.method(m, params), all, calibration, 0, listener);
        }
        Map<String, Object> one = new java.util.TreeMap<>(params);
        one.put("lambda", 1.0);
        Map<String, INDArray> unit = atUnitLambda.computeIfAbsent(m + one, k -> suite.merge(QualityBenchmark.method(m, one), all, calibration, 0, null));
        double lambda = ((Number) params.get("lambda")).doubleValue();
        Map<String, INDArray> d = new java.util.LinkedHashMap<>();
        unit.forEach((layer, u) -> d.put(layer, u.mul(lambda)));
        if (listener != null) {
            listener.onSolve(0, d);
        }
        return d;
    }

    /** Candidates that reach the full validation items: an eighth of them, at least three. */
    static int finalists(int candidates) {
        return Math.max(3, (candidates + 7) / 8);
    }

    /** Task arithmetic's λ (the anchor's scale) that {@code score} rates highest among task arithmetic's grid. */
    static double anchorScale(QualityBenchmark b, int mask, java.util.function.ToDoubleFunction<Map<String, INDArray>> score) {
        double best = Double.NaN;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (Map<String, Object> p : b.grid("task_arithmetic")) {
            double v = score.applyAsDouble(b.suite().merge(QualityBenchmark.method("task_arithmetic", p), mask, b.calibration(), 0, null));
            if (v > bestScore + 1e-12) {
                bestScore = v;
                best = ((Number) p.get("lambda")).doubleValue();
            }
        }
        return best;
    }
}
