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
 * calibration size. IterIS is also run without labels ({@link LabelFreeIteris}), and, where the suite's model can run
 * it, followed by a feature-matching refinement ({@link RefinedIteris}). {@link Tuning} makes every choice.
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
    /** IterIS with the feature-matching refinement, where the suite's model can run it; null otherwise. */
    RefinedIteris refined;
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
        if (refined != null) {
            r.addAll(2, List.of(RefinedIteris.TUNED, RefinedIteris.LABEL_FREE));
        }
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

    /** Chooses every method's parameters, then label-free IterIS's and the refinement's ({@link Tuning}). */
    void tune() {
        new Tuning(this, log).run();
    }

    /** Task arithmetic's λ (the anchor's scale) that {@code score} rates highest among task arithmetic's grid. */
    double anchorScale(int mask, java.util.function.ToDoubleFunction<Map<String, INDArray>> score) {
        return Tuning.anchorScale(this, mask, score);
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
            if (refined != null) {
                addRows(ALL, RefinedIteris.TUNED, in, refined.refine(suite.merge(tunedMethod("iteris"), all, calibration, draw, null),
                        all, draw, refined.tuned.settings()), all, draw, limit);
                addRows(ALL, RefinedIteris.LABEL_FREE, in, refined.refine(suite.merge(labelFree.method(), all, calibration, draw, null),
                        all, draw, refined.labelFree.settings()), all, draw, limit);
            }
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
