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
    final List<LabelFreeIteris.Choice> labelFree = new ArrayList<>();
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
            individual[i] = suite.individualAccuracy(i, TEST);
            base[i] = suite.baseAccuracy(i, TEST);
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
                sum += suite.accuracy(in, deltas, i, split, limit) / suite.individualAccuracy(i, split, limit);
                n++;
            }
        }
        return sum / n;
    }

    /**
     * Chooses every method's parameters (and IterIS's number of solves) on the merge of every task, validation split,
     * draw 0. IterIS is searched in two steps: the paper's ridges α first; then, with that α, the anchor at task
     * arithmetic, its scale s being task arithmetic's own best λ and its strength β from {@link TuningGrids#ANCHOR_STRENGTHS}.
     * The anchored solve is kept only if it scores higher than the paper's.
     */
    void tune() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        int limit = suite.validationItems();
        for (String m : methods) {
            Tuned best = search(m, grid(m), null, in, all, limit);
            if (m.equals("iteris") && best != null) {
                double s = anchorScale(all, d -> normalisedMean(in, d, all, VAL, limit));
                best = search(m, anchoredGrid(best.params(), s), best, in, all, limit);
            }
            tuned.put(m, best);
            log.printf("  tuned %-16s %s%s: validation mean normalised accuracy %.4f%n", m, best.params(),
                    m.equals("iteris") ? ", solves " + best.iterations() : "", best.validationScore());
        }
    }

    /** The best of {@code grid} on the validation split, or {@code best} when none beats it. */
    private Tuned search(String m, List<Map<String, Object>> grid, Tuned best, MergeInputs in, int all, int limit) {
        for (Map<String, Object> params : grid) {
            double[] perIteration = new double[20];
            Map<String, INDArray> d;
            boolean perSolve = m.equals("iteris");
            try {
                d = suite.merge(method(m, params), all, calibration, 0, perSolve
                        ? (report, merged) -> perIteration[report.iteration()] = normalisedMean(in, merged, all, VAL, limit) : null);
            } catch (IllegalArgumentException e) {
                // e.g. plain RegMean (nondiag_scale 1) on fewer calibration rows than inputs: singular
                log.printf("  %s %s cannot merge these tasks: %s%n", m, params, e.getMessage());
                continue;
            }
            if (!perSolve) {
                perIteration[0] = normalisedMean(in, d, all, VAL, limit);
            }
            int solves = perSolve ? ((Number) params.get("iterations")).intValue() : 1;
            for (int k = 0; k < solves; k++) {
                if (best == null || perIteration[k] > best.validationScore() + 1e-12) {
                    best = new Tuned(m, params, k + 1, perIteration[k]);
                }
            }
        }
        return best;
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
        Map<String, Object> p = new HashMap<>(t.params());
        if (m.equals("iteris")) {
            p.put("iterations", t.iterations());
        }
        return method(m, p);
    }

    /**
     * The merge of every task on each calibration draw: every tuned method (data-free ones once, their result does
     * not depend on the draw), and IterIS with α and solves chosen without labels on the draw's own held-out samples.
     */
    void allTasks() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        for (int i = 0; i < taskCount(); i++) {
            String t = taskNames().get(i);
            rows.add(new Row(ALL, taskCount(), "base", t, 0, base[i], base[i] / individual[i]));
            rows.add(new Row(ALL, taskCount(), "individual", t, 0, individual[i], 1.0));
        }
        LabelFreeIteris labelFreeIteris = new LabelFreeIteris(this);
        for (int draw = 0; draw < draws(); draw++) {
            for (String m : methods) {
                if (draw == 0 || needsData(m)) {
                    addRows(ALL, m, in, suite.merge(tunedMethod(m), all, calibration, draw, null), all, draw, 0);
                }
            }
            LabelFreeIteris.Choice choice = labelFreeIteris.choose(all, draw);
            labelFree.add(choice);
            log.printf("  draw %d: label-free IterIS chose alpha_1 %.0e, alpha_2 %.0e, anchor %s and %d solves (agreement %.4f)%n", draw,
                    choice.alpha1(), choice.alpha2(), choice.anchor(), choice.solves(), choice.agreement());
            addRows(ALL, LABEL_FREE, in, choice.deltas(), all, draw, 0);
        }
    }

    /** Test accuracy of every tuned method on the masked tasks (draw 0), as rows of {@code suiteName}. */
    void evaluateSubset(String suiteName, int mask) {
        MergeInputs in = suite.inputs(mask);
        for (String m : methods) {
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
                double acc = suite.accuracy(in, d, i, TEST, limit);
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
        suite.merge(method("iteris", p), all, calibration, 0, (report, merged) -> {
            double[] acc = perTask(in, merged);
            out.put(report.iteration() + 1, acc);
            for (int i = 0; i < acc.length; i++) {
                rows.add(new Row("iterations-" + (report.iteration() + 1), taskCount(), "iteris",
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
            acc[i] = suite.accuracy(in, d, i, TEST);
        }
        return acc;
    }
}
