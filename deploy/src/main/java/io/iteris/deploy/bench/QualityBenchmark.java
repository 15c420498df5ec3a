package io.iteris.deploy.bench;

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
 * hyper-parameters chosen on the validation split, then accuracy on the test split for the merge of all
 * tasks, for every pair and triple of tasks, and IterIS per iteration and per calibration size.
 */
final class QualityBenchmark {
    static final List<String> METHODS = List.of("iteris", "regmean", "ties", "dare", "task_arithmetic", "average");
    static final BenchTasks.Split VAL = BenchTasks.Split.VALIDATION;
    static final BenchTasks.Split TEST = BenchTasks.Split.TEST;
    /** The suite name of the rows of the merge of every task. */
    static final String ALL = "all";

    /** One merge's accuracy on each of its tasks. */
    record Row(String suite, int tasksMerged, String method, String task, double accuracy, double normalised) {
    }

    /** A method with the parameters chosen for it. */
    record Tuned(String method, Map<String, Object> params, int iterations, double validationScore) {
    }

    private final BenchTasks suite;
    private final boolean quick;
    private final int calibration;
    private final PrintStream log;
    final List<Row> rows = new ArrayList<>();
    final Map<String, Tuned> tuned = new LinkedHashMap<>();
    final double[] individual;
    final double[] base;

    QualityBenchmark(BenchTasks suite, int calibration, boolean quick, PrintStream log) {
        this.suite = suite;
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

    BenchTasks suite() {
        return suite;
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

    /** Candidate parameters per method; the validation split decides among them. */
    List<Map<String, Object>> grid(String method) {
        List<Map<String, Object>> g = new ArrayList<>();
        switch (method) {
            case "iteris" -> {
                for (double a : quick ? new double[]{1e-4} : new double[]{1e-6, 1e-5, 1e-4, 1e-3, 1e-2}) {
                    g.add(Map.of("alpha_1", a, "alpha_2", a, "iterations", quick ? 3 : 10));
                }
            }
            case "regmean" -> {
                for (double s : quick ? new double[]{0.9} : new double[]{0.5, 0.7, 0.9, 1.0}) {
                    g.add(Map.of("nondiag_scale", s));
                }
            }
            case "ties" -> {
                for (double d : quick ? new double[]{0.2} : new double[]{0.1, 0.2, 0.4}) {
                    for (double l : quick ? new double[]{1.0} : new double[]{0.5, 1.0, 1.5}) {
                        g.add(Map.of("density", d, "lambda", l));
                    }
                }
            }
            case "dare" -> {
                for (double d : quick ? new double[]{0.5} : new double[]{0.3, 0.5, 0.7}) {
                    for (double l : quick ? new double[]{0.5} : new double[]{0.3, 0.5, 0.7, 1.0}) {
                        g.add(Map.of("density", d, "lambda", l, "seed", 42));
                    }
                }
            }
            case "task_arithmetic" -> {
                for (double l : quick ? new double[]{0.5} : new double[]{0.2, 0.4, 0.6, 0.8, 1.0}) {
                    g.add(Map.of("lambda", l));
                }
            }
            default -> g.add(Map.of());
        }
        return g;
    }

    /** Mean over the masked tasks of merged ÷ own-LoRA accuracy on a split. */
    double normalisedMean(MergeInputs in, Map<String, INDArray> deltas, int mask, BenchTasks.Split split) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < taskCount(); i++) {
            if ((mask & (1 << i)) != 0) {
                sum += suite.accuracy(in, deltas, i, split) / suite.individualAccuracy(i, split);
                n++;
            }
        }
        return sum / n;
    }

    /** Chooses every method's parameters (and IterIS's iteration count) on the merge of every task, validation split. */
    void tune() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        for (String m : METHODS) {
            Tuned best = null;
            for (Map<String, Object> params : grid(m)) {
                double[] perIteration = new double[20];
                Map<String, INDArray> d;
                try {
                    d = suite.merge(method(m, params), all, calibration,
                            (report, merged) -> perIteration[report.iteration()] = normalisedMean(in, merged, all, VAL));
                } catch (IllegalArgumentException e) {
                    // e.g. plain RegMean (nondiag_scale 1) on fewer calibration rows than inputs: singular
                    log.printf("  %s %s cannot merge these tasks: %s%n", m, params, e.getMessage());
                    continue;
                }
                if (!m.equals("iteris")) {
                    perIteration[0] = normalisedMean(in, d, all, VAL);
                }
                int solves = m.equals("iteris") ? ((Number) params.get("iterations")).intValue() : 1;
                for (int k = 0; k < solves; k++) {
                    if (best == null || perIteration[k] > best.validationScore() + 1e-12) {
                        best = new Tuned(m, params, k + 1, perIteration[k]);
                    }
                }
            }
            tuned.put(m, best);
            log.printf("  tuned %-16s %s%s: validation mean normalised accuracy %.4f%n", m, best.params(),
                    m.equals("iteris") ? ", iterations " + best.iterations() : "", best.validationScore());
        }
    }

    /** The tuned method, IterIS with its chosen iteration count. */
    MergeMethod tunedMethod(String m) {
        Tuned t = tuned.get(m);
        Map<String, Object> p = new HashMap<>(t.params());
        if (m.equals("iteris")) {
            p.put("iterations", t.iterations());
        }
        return method(m, p);
    }

    /** Test accuracy of every tuned method on the masked tasks, as rows of {@code suiteName}. */
    void evaluateSubset(String suiteName, int mask) {
        MergeInputs in = suite.inputs(mask);
        int count = Integer.bitCount(mask);
        for (String m : METHODS) {
            Map<String, INDArray> d = suite.merge(tunedMethod(m), mask, calibration, null);
            addRows(suiteName, count, m, in, d, mask);
        }
    }

    private void addRows(String suiteName, int count, String m, MergeInputs in, Map<String, INDArray> d, int mask) {
        for (int i = 0; i < taskCount(); i++) {
            if ((mask & (1 << i)) != 0) {
                String task = taskNames().get(i);
                double acc = suite.accuracy(in, d, i, TEST);
                rows.add(new Row(suiteName, count, m, task, acc, acc / individual[i]));
            }
        }
    }

    /** The merge of every task, plus the base alone and each LoRA alone as references. */
    void allTasks() {
        int all = BenchTasks.all(taskCount());
        for (int i = 0; i < taskCount(); i++) {
            String t = taskNames().get(i);
            rows.add(new Row(ALL, taskCount(), "base", t, base[i], base[i] / individual[i]));
            rows.add(new Row(ALL, taskCount(), "individual", t, individual[i], 1.0));
        }
        evaluateSubset(ALL, all);
    }

    /** Every pair and every triple of tasks. */
    void subsets() {
        int n = taskCount();
        int done = 0;
        for (int mask = 1; mask < (1 << n); mask++) {
            int c = Integer.bitCount(mask);
            if ((c == 2 || c == 3) && c < n && (!quick || done < 2)) {
                evaluateSubset(c == 2 ? "pairs" : "triples", mask);
                done++;
            }
        }
    }

    /** IterIS test accuracy after each of 1..K solves (tuned alpha), K = 10. */
    Map<Integer, double[]> iterationSweep() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        Map<String, Object> p = new HashMap<>(tuned.get("iteris").params());
        p.put("iterations", quick ? 3 : 10);
        Map<Integer, double[]> out = new LinkedHashMap<>();
        suite.merge(method("iteris", p), all, calibration, (report, merged) -> {
            double[] acc = perTask(in, merged);
            out.put(report.iteration() + 1, acc);
            for (int i = 0; i < acc.length; i++) {
                rows.add(new Row("iterations-" + (report.iteration() + 1), taskCount(), "iteris",
                        taskNames().get(i), acc[i], acc[i] / individual[i]));
            }
        });
        return out;
    }

    /** Tuned IterIS test accuracy with 8…128 calibration samples per task. */
    Map<Integer, double[]> calibrationSweep() {
        int all = BenchTasks.all(taskCount());
        MergeInputs in = suite.inputs(all);
        Map<Integer, double[]> out = new LinkedHashMap<>();
        for (int samples : suite.calibrationSizes(quick)) {
            double[] acc = perTask(in, suite.merge(tunedMethod("iteris"), all, samples, null));
            out.put(samples, acc);
            for (int i = 0; i < acc.length; i++) {
                rows.add(new Row("calibration-" + samples, taskCount(), "iteris", taskNames().get(i),
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
