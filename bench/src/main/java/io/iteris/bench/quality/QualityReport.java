package io.iteris.bench.quality;

import io.iteris.core.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The benchmark's outputs: quality.csv, the tables, the PNG charts and report.md. */
final class QualityReport {
    private final QualityBenchmark b;
    private final List<String> tasks;

    QualityReport(QualityBenchmark b) {
        this.b = b;
        this.tasks = b.taskNames();
    }

    void writeCsv(Path file) {
        StringBuilder sb = new StringBuilder("suite,tasks_merged,method,task,accuracy,normalised_accuracy,draw\n");
        for (QualityBenchmark.Row r : b.rows) {
            sb.append(String.format(Locale.ROOT, "%s,%d,%s,%s,%.4f,%.4f,%d%n", r.suite(), r.tasksMerged(), r.method(), r.task(),
                    r.accuracy(), r.normalised(), r.draw()));
        }
        AtomicFiles.writeString(file, sb.toString());
    }

    /** A method's mean normalised accuracy over the tasks, per calibration draw it was merged on (merge of every task). */
    double[] perDraw(String method) {
        return java.util.stream.IntStream.range(0, b.draws()).mapToObj(d -> b.rows.stream()
                        .filter(r -> r.suite().equals(QualityBenchmark.ALL) && r.method().equals(method) && r.draw() == d).toList())
                .filter(rs -> !rs.isEmpty())
                .mapToDouble(rs -> rs.stream().mapToDouble(QualityBenchmark.Row::normalised).average().orElseThrow()).toArray();
    }

    /**
     * The standard error of a method's mean normalised accuracy from the test items alone (binomial, per task,
     * divided by the task's own-LoRA accuracy): what a different test sample would move it by.
     */
    double testError(String method) {
        double var = 0;
        for (int i = 0; i < tasks.size(); i++) {
            String t = tasks.get(i);
            double p = b.rows.stream().filter(r -> r.suite().equals(QualityBenchmark.ALL) && r.method().equals(method) && r.task().equals(t))
                    .mapToDouble(QualityBenchmark.Row::accuracy).average().orElseThrow();
            int n = b.suite().size(i, QualityBenchmark.TEST, b.suite().allTestItems());
            var += p * (1 - p) / n / (b.individual[i] * b.individual[i]);
        }
        return Math.sqrt(var) / tasks.size();
    }

    /** Standard error of the mean of the values (0 for one value). */
    static double standardError(double[] v) {
        if (v.length < 2) {
            return 0;
        }
        double mean = java.util.Arrays.stream(v).average().orElseThrow();
        double ss = java.util.Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum();
        return Math.sqrt(ss / (v.length - 1) / v.length);
    }

    /** Mean and standard error (draws and test items together) of a method's mean normalised accuracy. */
    double[] meanAndError(String method) {
        double[] d = perDraw(method);
        double se = standardError(d);
        double te = testError(method);
        return new double[]{java.util.Arrays.stream(d).average().orElseThrow(), Math.sqrt(se * se + te * te)};
    }

    /**
     * Methods × tasks test accuracy of the merge of every task (mean over the draws a method was merged on), with
     * the mean and the mean normalised accuracy ± its standard error.
     */
    String allTaskTable() {
        StringBuilder sb = new StringBuilder("| method |");
        tasks.forEach(t -> sb.append(' ').append(t).append(" |"));
        sb.append(" mean | mean normalised ± s.e. | draws |\n|---|");
        tasks.forEach(t -> sb.append("---:|"));
        sb.append("---:|---:|---:|\n");
        List<String> methods = new ArrayList<>(List.of("base", "individual"));
        methods.addAll(b.reported());
        for (String m : methods) {
            double sum = 0;
            sb.append("| ").append(m).append(" |");
            for (String t : tasks) {
                double acc = b.rows.stream().filter(r -> r.suite().equals(QualityBenchmark.ALL) && r.method().equals(m) && r.task().equals(t))
                        .mapToDouble(QualityBenchmark.Row::accuracy).average().orElseThrow();
                sb.append(String.format(Locale.ROOT, " %.3f |", acc));
                sum += acc;
            }
            double[] me = meanAndError(m);
            sb.append(String.format(Locale.ROOT, " %.3f | %.3f ± %.3f | %d |%n", sum / tasks.size(), me[0], me[1], perDraw(m).length));
        }
        return sb.toString();
    }

    /**
     * IterIS (tuned on labels, and label-free) against every rival: the difference of mean normalised accuracy with
     * its standard error (paired over the draws both were merged on, plus both methods' test-item errors), and
     * whether it exceeds two standard errors.
     */
    String separationTable() {
        StringBuilder sb = new StringBuilder("| rival | IterIS − rival | separated? | label-free IterIS − rival | separated? |\n|---|---:|---|---:|---|\n");
        for (String m : b.methods) {
            if (m.equals("iteris")) {
                continue;
            }
            sb.append("| ").append(m).append(" |");
            for (String ours : List.of("iteris", QualityBenchmark.LABEL_FREE)) {
                double[] diff = difference(ours, m);
                sb.append(String.format(Locale.ROOT, " %+.3f ± %.3f | %s |", diff[0], diff[1],
                        Math.abs(diff[0]) > 2 * diff[1] ? (diff[0] > 0 ? "yes, IterIS ahead" : "yes, rival ahead") : "no"));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Mean and standard error of ours − rival over the draws (a data-free rival has one result for every draw). */
    double[] difference(String ours, String rival) {
        double[] a = perDraw(ours);
        double[] r = perDraw(rival);
        double[] d = new double[a.length];
        for (int k = 0; k < a.length; k++) {
            d[k] = a[k] - (r.length == a.length ? r[k] : r[0]);
        }
        double se = standardError(d);
        double ta = testError(ours);
        double tr = testError(rival);
        return new double[]{java.util.Arrays.stream(d).average().orElseThrow(), Math.sqrt(se * se + ta * ta + tr * tr)};
    }

    /** Mean normalised accuracy per method over every merge of a suite (pairs, triples). */
    String subsetTable() {
        boolean triples = b.rows.stream().anyMatch(r -> r.suite().equals("triples"));
        StringBuilder sb = new StringBuilder("| method | pairs (mean normalised) |" + (triples ? " triples (mean normalised) |" : "")
                + "\n|---|---:|" + (triples ? "---:|" : "") + "\n");
        for (String m : b.subsetMethods()) {
            sb.append(String.format(Locale.ROOT, "| %s | %.3f |", m, meanNormalised("pairs", m)));
            sb.append(triples ? String.format(Locale.ROOT, " %.3f |%n", meanNormalised("triples", m)) : "\n");
        }
        return sb.toString();
    }

    /**
     * Pairwise interference: for every pair of tasks, the mean normalised accuracy task arithmetic (the plain sum of
     * the LoRAs) and IterIS keep; the further below 1, the more the two LoRAs get in each other's way.
     */
    String interferenceTable() {
        StringBuilder sb = new StringBuilder("| pair | task arithmetic | IterIS |\n|---|---:|---:|\n");
        for (int i = 0; i < tasks.size(); i++) {
            for (int j = i + 1; j < tasks.size(); j++) {
                String ti = tasks.get(i);
                String tj = tasks.get(j);
                sb.append("| ").append(ti).append(" + ").append(tj).append(" |");
                for (String m : List.of("task_arithmetic", "iteris")) {
                    List<QualityBenchmark.Row> rs = pairRows(m, ti, tj);
                    sb.append(rs.isEmpty() ? " – |" : String.format(Locale.ROOT, " %.3f |",
                            rs.stream().mapToDouble(QualityBenchmark.Row::normalised).average().orElseThrow()));
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    /** The rows of a method's merge of exactly the pair {a, b}. */
    private List<QualityBenchmark.Row> pairRows(String method, String a, String bTask) {
        List<QualityBenchmark.Row> pairs = b.rows.stream().filter(r -> r.suite().equals("pairs") && r.method().equals(method)).toList();
        List<QualityBenchmark.Row> out = new ArrayList<>();
        for (int k = 0; k + 1 < pairs.size(); k += 2) {
            QualityBenchmark.Row x = pairs.get(k);
            QualityBenchmark.Row y = pairs.get(k + 1);
            if (x.task().equals(a) && y.task().equals(bTask)) {
                out.add(x);
                out.add(y);
            }
        }
        return out;
    }

    String sweepTable(String label, Map<Integer, double[]> sweep) {
        StringBuilder sb = new StringBuilder("| " + label + " |");
        tasks.forEach(t -> sb.append(' ').append(t).append(" |"));
        sb.append(" mean | mean normalised |\n|---:|");
        tasks.forEach(t -> sb.append("---:|"));
        sb.append("---:|---:|\n");
        sweep.forEach((k, acc) -> {
            sb.append("| ").append(k).append(" |");
            double sum = 0;
            double norm = 0;
            for (int i = 0; i < acc.length; i++) {
                sb.append(String.format(Locale.ROOT, " %.3f |", acc[i]));
                sum += acc[i];
                norm += acc[i] / b.individual[i];
            }
            sb.append(String.format(Locale.ROOT, " %.3f | %.3f |%n", sum / acc.length, norm / acc.length));
        });
        return sb.toString();
    }

    String tuningTable() {
        StringBuilder sb = new StringBuilder("| method | chosen parameters | validation mean normalised | grid | at the grid's edge |\n"
                + "|---|---|---:|---|---|\n");
        b.tuned.forEach((m, t) -> {
            Map<String, java.util.SortedSet<Object>> grid = gridValues(m, t);
            sb.append(String.format(Locale.ROOT, "| %s | %s%s | %.4f | %s | %s |%n", m, withoutIterations(t.params()),
                    m.equals("iteris") ? ", solves " + t.iterations() : "", t.validationScore(), grid, edges(t.params(), grid)));
        });
        return sb.toString();
    }

    /** Every value each parameter took in the method's grid (IterIS: both steps of its search). */
    private Map<String, java.util.SortedSet<Object>> gridValues(String m, QualityBenchmark.Tuned t) {
        List<Map<String, Object>> grid = new java.util.ArrayList<>(b.grid(m));
        if (m.equals("iteris")) {
            // the second step, tried whether or not it was chosen: the anchor, its scale from task arithmetic's grid
            grid.addAll(b.anchoredGrid(t.params(), 0).stream().map(p -> Map.<String, Object>of("anchor", p.get("anchor"),
                    "anchor_strength", p.get("anchor_strength"))).toList());
            grid.addAll(b.grid("task_arithmetic").stream().map(p -> Map.<String, Object>of("anchor_scale", p.get("lambda"))).toList());
        }
        Map<String, java.util.SortedSet<Object>> values = new java.util.TreeMap<>();
        for (Map<String, Object> p : grid) {
            p.forEach((k, v) -> {
                if (!k.equals("iterations") && !k.equals("seed")) {
                    values.computeIfAbsent(k, x -> new java.util.TreeSet<>(QualityReport::compareValues)).add(v);
                }
            });
        }
        return values;
    }

    private static int compareValues(Object a, Object b) {
        return a instanceof Number x && b instanceof Number y ? Double.compare(x.doubleValue(), y.doubleValue())
                : a.toString().compareTo(b.toString());
    }

    /** Bounds that are not a grid's edge but the method's own: nothing trimmed, nothing dropped, the whole Gram. */
    private static final java.util.Set<String> NATURAL_MAXIMA = java.util.Set.of("density", "common_fraction", "nondiag_scale", "keep_fraction");

    /** The numeric parameters whose chosen value is the least or greatest the grid tried, natural bounds excepted. */
    static String edges(Map<String, Object> chosen, Map<String, java.util.SortedSet<Object>> grid) {
        List<String> at = new java.util.ArrayList<>();
        grid.forEach((k, vs) -> {
            Object v = chosen.get(k);
            if (v instanceof Number x && vs.size() > 1) {
                double d = x.doubleValue();
                boolean min = d == ((Number) vs.first()).doubleValue();
                boolean max = d == ((Number) vs.last()).doubleValue();
                if (min || (max && !(NATURAL_MAXIMA.contains(k) && d == 1.0))) {
                    at.add(k + (min ? " (least)" : " (greatest)"));
                }
            }
        });
        return at.isEmpty() ? "no" : String.join(", ", at);
    }

    /** The chosen parameters as HOCON, ready for a merge config's {@code iteris.methods} block. */
    String tunedConf() {
        StringBuilder sb = new StringBuilder("# Chosen on the validation split by bin/iteris bench quality --suite " + b.suite().suiteName()
                + " (" + b.calibration() + " calibration samples per task).\niteris.methods {\n");
        b.tuned.forEach((m, t) -> {
            Map<String, Object> p = new java.util.TreeMap<>(t.params());
            if (m.equals("iteris")) {
                p.put("iterations", t.iterations());
            }
            StringBuilder line = new StringBuilder();
            p.forEach((k, v) -> line.append(line.isEmpty() ? "" : ", ").append(k).append(" = ").append(v));
            sb.append("  ").append(m).append(" { ").append(line).append(" }\n");
        });
        return sb.append("}\n").toString();
    }

    /** The refinement's choices and each draw's result against the IterIS merge it started from; empty without one. */
    String refinedTable() {
        RefinedIteris r = b.refined;
        if (r == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "Adam's rate and steps per layer from rates %s × steps %s: "
                        + "on validation labels %s (validation mean normalised %.4f; at the grid's edge: %s); without labels %s "
                        + "(held-out agreement %.4f; at the grid's edge: %s).%n%n", java.util.Arrays.toString(FeatureRefinement.RATES),
                java.util.Arrays.toString(FeatureRefinement.STEPS), r.tuned.settings(), r.tuned.score(), RefinedIteris.edge(r.tuned.settings()),
                r.labelFree.settings(), r.labelFree.score(), RefinedIteris.edge(r.labelFree.settings())));
        double[] it = perDraw("iteris");
        double[] ref = perDraw(RefinedIteris.TUNED);
        double[] free = perDraw(QualityBenchmark.LABEL_FREE);
        double[] refFree = perDraw(RefinedIteris.LABEL_FREE);
        sb.append("| draw | IterIS | refined | label-free IterIS | refined, label-free |\n|---:|---:|---:|---:|---:|\n");
        for (int d = 0; d < it.length; d++) {
            sb.append(String.format(Locale.ROOT, "| %d | %.3f | %.3f | %.3f | %.3f |%n", d, it[d], ref[d], free[d], refFree[d]));
        }
        return sb.toString();
    }

    /** Label-free IterIS's choice per draw against the label-tuned one. */
    String labelFreeTable() {
        QualityBenchmark.Tuned t = b.tuned.get("iteris");
        LabelFreeIteris.Choice c = b.labelFree;
        double[] labelled = perDraw("iteris");
        double[] free = perDraw(QualityBenchmark.LABEL_FREE);
        String anchor = t.params().containsKey("anchor_strength")
                ? "anchor s " + t.params().get("anchor_scale") + ", β " + t.params().get("anchor_strength") : "anchor none";
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "Chosen without labels (held-out agreement %.4f): α1 %.0e, α2 %.0e, "
                + "anchor %s, %d solves. Chosen on validation labels: α1 %s, α2 %s, %s, %d solves.%n%n", c.agreement(), c.alpha1(),
                c.alpha2(), c.anchor(), c.solves(), t.params().get("alpha_1"), t.params().get("alpha_2"), anchor, t.iterations()));
        sb.append("| draw | label-free, test mean normalised | label-tuned |\n|---:|---:|---:|\n");
        for (int d = 0; d < free.length; d++) {
            sb.append(String.format(Locale.ROOT, "| %d | %.3f | %.3f |%n", d, free[d], labelled[d]));
        }
        return sb.toString();
    }

    private static Map<String, Object> withoutIterations(Map<String, Object> params) {
        Map<String, Object> p = new java.util.TreeMap<>(params);
        p.remove("iterations");
        return p;
    }

    double meanNormalised(String suite, String method) {
        return b.rows.stream().filter(r -> r.suite().equals(suite) && r.method().equals(method))
                .mapToDouble(QualityBenchmark.Row::normalised).average().orElse(Double.NaN);
    }

    /** A line chart of test accuracy per task and the mean against the sweep's variable. */
    void chart(Path file, String title, String xLabel, Map<Integer, double[]> sweep, boolean logX) {
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle(xLabel).yAxisTitle("test accuracy").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setXAxisLogarithmic(logX);
        double[] x = sweep.keySet().stream().mapToDouble(Integer::doubleValue).toArray();
        Map<String, double[]> series = new LinkedHashMap<>();
        for (int i = 0; i < tasks.size(); i++) {
            double[] y = new double[x.length];
            int j = 0;
            for (double[] acc : sweep.values()) {
                y[j++] = acc[i];
            }
            series.put(tasks.get(i), y);
        }
        double[] mean = new double[x.length];
        int j = 0;
        for (double[] acc : sweep.values()) {
            double s = 0;
            for (double a : acc) {
                s += a;
            }
            mean[j++] = s / acc.length;
        }
        series.put("mean", mean);
        series.forEach((name, y) -> chart.addSeries(name, x, y));
        try {
            BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
