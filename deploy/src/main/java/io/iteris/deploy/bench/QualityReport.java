package io.iteris.deploy.bench;

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
        StringBuilder sb = new StringBuilder("suite,tasks_merged,method,task,accuracy,normalised_accuracy\n");
        for (QualityBenchmark.Row r : b.rows) {
            sb.append(String.format(Locale.ROOT, "%s,%d,%s,%s,%.4f,%.4f%n", r.suite(), r.tasksMerged(), r.method(), r.task(),
                    r.accuracy(), r.normalised()));
        }
        AtomicFiles.writeString(file, sb.toString());
    }

    /** Methods × tasks test accuracy of the merge of every task, with the mean and the mean normalised accuracy. */
    String allTaskTable() {
        StringBuilder sb = new StringBuilder("| method |");
        tasks.forEach(t -> sb.append(' ').append(t).append(" |"));
        sb.append(" mean | mean normalised |\n|---|");
        tasks.forEach(t -> sb.append("---:|"));
        sb.append("---:|---:|\n");
        List<String> methods = new ArrayList<>(List.of("base", "individual"));
        methods.addAll(QualityBenchmark.METHODS);
        for (String m : methods) {
            double sum = 0;
            double norm = 0;
            sb.append("| ").append(m).append(" |");
            for (String t : tasks) {
                QualityBenchmark.Row r = row(QualityBenchmark.ALL, m, t);
                sb.append(String.format(Locale.ROOT, " %.3f |", r.accuracy()));
                sum += r.accuracy();
                norm += r.normalised();
            }
            sb.append(String.format(Locale.ROOT, " %.3f | %.3f |%n", sum / tasks.size(), norm / tasks.size()));
        }
        return sb.toString();
    }

    /** Mean normalised accuracy per method over every merge of a suite (pairs, triples). */
    String subsetTable() {
        boolean triples = tasks.size() > 3;
        StringBuilder sb = new StringBuilder("| method | pairs (mean normalised) |" + (triples ? " triples (mean normalised) |" : "")
                + "\n|---|---:|" + (triples ? "---:|" : "") + "\n");
        for (String m : QualityBenchmark.METHODS) {
            sb.append(String.format(Locale.ROOT, "| %s | %.3f |", m, meanNormalised("pairs", m)));
            sb.append(triples ? String.format(Locale.ROOT, " %.3f |%n", meanNormalised("triples", m)) : "\n");
        }
        return sb.toString();
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
        StringBuilder sb = new StringBuilder("| method | chosen parameters | validation mean normalised |\n|---|---|---:|\n");
        b.tuned.forEach((m, t) -> sb.append(String.format(Locale.ROOT, "| %s | %s%s | %.4f |%n", m, withoutIterations(t.params()),
                m.equals("iteris") ? ", solves " + t.iterations() : "", t.validationScore())));
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

    private QualityBenchmark.Row row(String suite, String method, String task) {
        return b.rows.stream().filter(r -> r.suite().equals(suite) && r.method().equals(method) && r.task().equals(task))
                .findFirst().orElseThrow();
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
