package io.iteris.bench.quality;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.merge.MergeMethods;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How much of each task's skill survives a merge, on real tasks ({@link BenchTasks}): every method's
 * hyper-parameters chosen on the validation split, then test accuracy of the published adapter for the merge of
 * all tasks (repeated over calibration draws), for every pair (and triple) of tasks, and IterIS per solve and per
 * calibration size. IterIS is also run without labels ({@link LabelFreeIteris}).
 */
final class QualityBenchmark {
    /** Every method the benchmark knows, IterIS first (it is the reference the rivals are compared with). */
    static final List<String> METHODS = List.of("iteris", "regmean", "regmean_pp", "tsv", "iso_cts", "knots", "wudi", "core_space",
            "ties", "dare", "task_arithmetic", "average");
    static final String LABEL_FREE = "iteris_label_free";

    static final BenchTasks.Split VAL = BenchTasks.Split.VALIDATION;
    static final BenchTasks.Split TEST = BenchTasks.Split.TEST;
    /** The suite name of the rows of the merge of every task. */
    static final String ALL = "all";

    /** One merge's accuracy on one of its tasks; {@code draw} is the calibration draw (0 where not repeated). */
    record Row(String suite, int tasksMerged, String method, String task, int draw, double accuracy, double normalised) {
    }

    /** A method with the parameters chosen for it. */
    record Tuned(String method, Map<String, Object> params, int iterations, double validationScore) {
    }

    private final BenchTasks suite;
    /** The methods this run compares: all of {@link #METHODS}, or the ones asked for (IterIS always). */
    final List<String> methods;
    private final boolean quick;
    private final int calibration;
    /** Draws asked for on the command line (0: the suite's default). */
    private final int draws;
    private final TuningGrids grids;
    private final PrintStream log;
    final List<Row> rows = new ArrayList<>();
    final Map<String, Tuned> tuned = new LinkedHashMap<>();
    /** IterIS's parameters chosen without labels ({@link #tune}). */
    LabelFreeIteris.Choice labelFree;
    final double[] individual;
    final double[] base;

    QualityBenchmark(BenchTasks suite, int calibration, double[] ridgeRatios, List<String> methods, boolean quick, int draws,
                     PrintStream log) {
        this.suite = suite;
        if (draws < 0) {
            throw new IllegalArgumentException("--draws must be positive, got " + draws);
        }
        this.draws = draws;
        for (double r : ridgeRatios) {
            if (!(r > 0)) {
                throw new IllegalArgumentException("--ridge-ratios: each ratio α1/α2 must be positive, got " + r);
            }
        }
        this.grids = new TuningGrids(suite, quick, ridgeRatios.clone());
        for (String m : methods) {
            if (!METHODS.contains(m)) {
                throw new IllegalArgumentException("unknown method '" + m + "' for bench quality; known: " + String.join(", ", METHODS));
            }
        }
        this.methods = METHODS.stream().filter(m -> m.equals("iteris") || methods.isEmpty() || methods.contains(m)).toList();
        this.calibration = calibration;
        this.quick = quick;
        this.log = log;
        int n = suite.taskNames().size();
        individual = new double[n];
        base = new double[n];
        for (int i = 0; i < n; i++) {
            individual[i] = suite.individualAccuracy(i, TEST, suite.allTestItems());
            base[i] = suite.baseAccuracy(i, TEST, suite.allTestItems());
        }
    }

    int merges() {
        return suite.merges();
    }

    /** Every row label of the merges of every task, in table order: IterIS tuned on labels, without labels, the rivals. */
    List<String> reported() {
        List<String> r = new ArrayList<>(methods);
        r.add(1, LABEL_FREE);
        return r;
    }

    BenchTasks suite() {
        return suite;
    }

    boolean quick() {
        return quick;
    }

    int calibration() {
        return calibration;
    }

    int draws() {
        return draws > 0 ? draws : suite.draws(quick);
    }

    List<String> taskNames() {
        return suite.taskNames();
    }

    int taskCount() {
        return suite.taskNames().size();
    }

    static MergeMethod method(String name, Map<String, Object> params) {
        Map<String, Object> m = new HashMap<>();
        params.forEach((k, v) -> m.put("iteris.methods." + name + "." + k, v));
        return MergeMethods.create(name, ConfigFactory.parseMap(m));
    }

    /** Whether a method reads calibration data (its result depends on the draw). */
    static boolean needsData(String method) {
        return MergeMethods.create(method).dataNeeds() != MergeMethod.DataNeeds.NONE;
    }

    /** Candidate parameters per method ({@link TuningGrids#of}). */
    List<Map<String, Object>> grid(String method) {
        return grids.of(method);
    }

    /** Mean over the masked tasks of merged ÷ own-LoRA accuracy on a split. */
    double normalisedMean(MergeInputs in, Map<String, INDArray> deltas, int mask, BenchTasks.Split split, int limit) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < taskCount(); i++) {
            if ((mask & (1 << i)) != 0) {
                sum += suite.score(in, deltas, i, split, limit) / suite.individualAccuracy(i, split, limit);
                n++;
            }
        }
        return sum / n;
    }

    /**
     * Chooses every method's parameters (and IterIS's number of solves) on the merge of every task, validation split,
     * draw 0. IterIS is searched in two steps: the paper's ridges α first; then, with that α, the anchor at task
     * arithmetic, its scale s being task arithmetic's own best λ and its strength β from {@link TuningGrids#ANCHOR_STRENGTHS}.
     * The anchored solve is kept only if it scores higher than the paper's. Label-free IterIS is then chosen the same way
     * from the same merges, by agreement instead of labels ({@link LabelFreeIteris}).
     */
    void tune() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        int limit = suite.validationItems();
        for (String m : methods) {
            Tuned best = search(m, grid(m), in, all);
            if (m.equals("iteris") && best != null) {
                double s = anchorScale(all, d -> normalisedMean(in, d, all, VAL, limit));
                Tuned anchored = search(m, anchoredGrid(best.params(), s), in, all);
                if (anchored != null && anchored.validationScore() > best.validationScore() + 1e-12) {
                    best = anchored;
                }
            }
            if (best == null) {
                throw new IllegalStateException(m + " could not merge these tasks with any parameters of its grid");
            }
            tuned.put(m, best);
            log.printf("  tuned %-16s %s%s: validation mean normalised accuracy %.4f%n", m, best.params(),
                    m.equals("iteris") ? ", solves " + best.iterations() : "", best.validationScore());
        }
        atUnitLambda.clear();
        labelFree = new LabelFreeIteris(this).choose(all);
        log.printf("  label-free IterIS chose alpha_1 %.0e, alpha_2 %.0e, anchor %s and %d solves (held-out agreement %.4f)%n",
                labelFree.alpha1(), labelFree.alpha2(), labelFree.anchor(), labelFree.solves(), labelFree.agreement());
    }

    /**
     * The best of {@code grid} on the validation split. Where the suite screens ({@link BenchTasks#screenItems}), every
     * candidate (each solve of an IterIS run is one) is scored on the first few validation items per task, and the best
     * {@link #finalists} of them on all the validation items the suite tunes on: successive halving, the same for every
     * method, so that a grid of dozens of points costs a few full evaluations.
     */
    private Tuned search(String m, List<Map<String, Object>> grid, MergeInputs in, int all) {
        int limit = suite.validationItems();
        int screen = suite.screenItems();
        List<Tuned> candidates = new ArrayList<>();
        for (Map<String, Object> params : grid) {
            try {
                tuningMerge(m, params, all, (k, d) -> candidates.add(
                        new Tuned(m, params, k + 1, normalisedMean(in, d, all, VAL, screen > 0 ? screen : limit))));
            } catch (IllegalArgumentException e) {
                // e.g. plain RegMean (nondiag_scale 1) on fewer calibration rows than inputs: singular
                log.printf("  %s %s cannot merge these tasks: %s%n", m, params, e.getMessage());
            }
        }
        if (screen > 0) {
            List<Tuned> ranked = candidates.stream()
                    .sorted(java.util.Comparator.comparingDouble(Tuned::validationScore).reversed()).toList();
            candidates.clear();
            for (Tuned t : ranked.subList(0, Math.min(ranked.size(), finalists(ranked.size())))) {
                candidates.add(new Tuned(m, t.params(), t.iterations(),
                        normalisedMean(in, tuningMerge(m, solvesParams(m, t.params(), t.iterations()), all, null), all, VAL, limit)));
            }
        }
        Tuned best = null;
        for (Tuned t : candidates) {
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
        if (needsData(m) || !params.containsKey("lambda")) {
            return suite.merge(method(m, params), all, calibration, 0, listener);
        }
        Map<String, Object> one = new java.util.TreeMap<>(params);
        one.put("lambda", 1.0);
        Map<String, INDArray> unit = atUnitLambda.computeIfAbsent(m + one, k -> suite.merge(method(m, one), all, calibration, 0, null));
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

    /** The method with these parameters, IterIS stopped after {@code solves} solves. */
    static MergeMethod solvesOf(String m, Map<String, Object> params, int solves) {
        return method(m, solvesParams(m, params, solves));
    }

    static Map<String, Object> solvesParams(String m, Map<String, Object> params, int solves) {
        Map<String, Object> p = new HashMap<>(params);
        if (m.equals("iteris")) {
            p.put("iterations", solves);
        }
        return p;
    }

    /** IterIS anchored at task arithmetic at scale {@code s}, for each β, with the ridges and solves of {@code paper}. */
    List<Map<String, Object>> anchoredGrid(Map<String, Object> paper, double s) {
        return grids.anchored(paper, s);
    }

    /** Task arithmetic's λ (the anchor's scale) that {@code score} rates highest among task arithmetic's grid. */
    double anchorScale(int mask, java.util.function.ToDoubleFunction<Map<String, INDArray>> score) {
        double best = Double.NaN;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (Map<String, Object> p : grid("task_arithmetic")) {
            double v = score.applyAsDouble(suite.merge(method("task_arithmetic", p), mask, calibration, 0, null));
            if (v > bestScore + 1e-12) {
                bestScore = v;
                best = ((Number) p.get("lambda")).doubleValue();
            }
        }
        return best;
    }

    /** The tuned method, IterIS with its chosen number of solves. */
    MergeMethod tunedMethod(String m) {
        Tuned t = tuned.get(m);
        return solvesOf(m, t.params(), t.iterations());
    }

    /**
     * The merge of every task on each calibration draw: every tuned method (data-free ones once, their result does
     * not depend on the draw), and IterIS with the parameters chosen without labels.
     */
    void allTasks() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        for (int i = 0; i < taskCount(); i++) {
            String t = taskNames().get(i);
            rows.add(new Row(ALL, taskCount(), "base", t, 0, base[i], base[i] / individual[i]));
            rows.add(new Row(ALL, taskCount(), "individual", t, 0, individual[i], 1.0));
        }
        int limit = suite.allTestItems();
        for (int draw = 0; draw < draws(); draw++) {
            for (String m : methods) {
                if (draw == 0 || needsData(m)) {
                    addRows(ALL, m, in, suite.merge(tunedMethod(m), all, calibration, draw, null), all, draw, limit);
                }
            }
            addRows(ALL, LABEL_FREE, in, suite.merge(labelFree.method(), all, calibration, draw, null), all, draw, limit);
        }
    }

    /**
     * The methods the merges of fewer tasks are measured with: every one, or where the suite limits them
     * ({@link BenchTasks#subsetRivals}), IterIS, task arithmetic and the rivals that scored best on validation.
     */
    List<String> subsetMethods() {
        int rivals = suite.subsetRivals();
        if (rivals < 0) {
            return methods;
        }
        List<String> out = new ArrayList<>(methods.stream().filter(m -> m.equals("iteris") || m.equals("task_arithmetic")).toList());
        methods.stream().filter(m -> !out.contains(m))
                .sorted(java.util.Comparator.comparingDouble((String m) -> tuned.get(m).validationScore()).reversed())
                .limit(rivals).forEach(out::add);
        return methods.stream().filter(out::contains).toList();
    }

    /** Test accuracy of every tuned method of {@link #subsetMethods} on the masked tasks (draw 0), as rows of {@code suiteName}. */
    void evaluateSubset(String suiteName, int mask) {
        MergeInputs in = suite.inputs(mask);
        for (String m : subsetMethods()) {
            Map<String, INDArray> d;
            try {
                d = suite.merge(tunedMethod(m), mask, calibration, 0, null);
            } catch (IllegalArgumentException e) {
                // parameters chosen on every task may not suit fewer: plain RegMean on two short-text tasks has fewer
                // calibration rows than inputs and is singular; the merge is left out of the table, not the run
                log.printf("  %s cannot merge %s: %s%n", m, suite.inputs(mask).adapters().stream().map(a -> a.name()).toList(), e.getMessage());
                continue;
            }
            addRows(suiteName, m, in, d, mask, 0, suite.subsetTestItems());
        }
    }

    void addRows(String suiteName, String m, MergeInputs in, Map<String, INDArray> d, int mask, int draw, int limit) {
        for (int i = 0; i < taskCount(); i++) {
            if ((mask & (1 << i)) != 0) {
                double acc = suite.score(in, d, i, TEST, limit);
                rows.add(new Row(suiteName, Integer.bitCount(mask), m, taskNames().get(i), draw, acc,
                        acc / suite.individualAccuracy(i, TEST, limit)));
            }
        }
    }

    /** Every pair of tasks, and every triple where the suite measures them. */
    void subsets() {
        int n = taskCount();
        int done = 0;
        for (int mask = 1; mask < (1 << n); mask++) {
            int c = Integer.bitCount(mask);
            if ((c == 2 || (c == 3 && suite.triples())) && c < n && (!quick || done < 2)) {
                evaluateSubset(c == 2 ? "pairs" : "triples", mask);
                done++;
            }
        }
    }

    /** IterIS test accuracy after each of 1..K solves (tuned alpha). */
    Map<Integer, double[]> iterationSweep() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        Map<String, Object> p = new HashMap<>(tuned.get("iteris").params());
        p.put("iterations", suite.maxSolves(quick));
        Map<Integer, double[]> out = new LinkedHashMap<>();
        suite.merge(method("iteris", p), all, calibration, 0, (k, merged) -> {
            double[] acc = perTask(in, merged);
            out.put(k + 1, acc);
            for (int i = 0; i < acc.length; i++) {
                rows.add(new Row("iterations-" + (k + 1), taskCount(), "iteris",
                        taskNames().get(i), 0, acc[i], acc[i] / individual[i]));
            }
        });
        return out;
    }

    /** Tuned IterIS test accuracy with 4…128 calibration samples per task. */
    Map<Integer, double[]> calibrationSweep() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        Map<Integer, double[]> out = new LinkedHashMap<>();
        for (int samples : suite.calibrationSizes(quick)) {
            double[] acc = perTask(in, suite.merge(tunedMethod("iteris"), all, samples, 0, null));
            out.put(samples, acc);
            for (int i = 0; i < acc.length; i++) {
                rows.add(new Row("calibration-" + samples, taskCount(), "iteris", taskNames().get(i), 0,
                        acc[i], acc[i] / individual[i]));
            }
        }
        return out;
    }

    private double[] perTask(MergeInputs in, Map<String, INDArray> d) {
        double[] acc = new double[taskCount()];
        for (int i = 0; i < acc.length; i++) {
            acc[i] = suite.score(in, d, i, TEST, suite.allTestItems());
        }
        return acc;
    }
}
