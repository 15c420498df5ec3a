package io.iteris.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iteris.core.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code report.html}: the merge report as one self-contained page (charts are embedded PNGs), built from
 * {@code merge-report.json} so any earlier merge's page can be rebuilt from its JSON.
 */
public final class MergeReportPage {
    static final int WIDTH = 900;
    static final int HEIGHT = 420;

    private MergeReportPage() {
    }

    public static void write(Path reportJson, Path html) {
        JsonNode r;
        try {
            r = new ObjectMapper().readTree(reportJson.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + reportJson, e);
        }
        StringBuilder page = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>iteris merge report</title>"
                + "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}table{border-collapse:collapse}"
                + "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}"
                + "img{max-width:100%}</style></head><body>\n");
        page.append("<h1>Merge report: ").append(esc(r.path("method").asText())).append("</h1>\n<p>Base model <code>")
                .append(esc(r.path("base").asText())).append("</code>; output ").append(esc(r.path("output_format").asText()))
                .append(", forward passes in ").append(esc(r.path("precision").asText())).append(". Method: <a href=\"")
                .append(esc(r.path("method_reference").asText())).append("\">").append(esc(r.path("method_reference").asText()))
                .append("</a>.</p>\n");
        page.append("<h2>Adapters</h2>\n<table><tr><th>task</th><th>r</th><th>lora_alpha</th><th>rsLoRA</th><th>manual coef</th><th>path</th></tr>\n");
        for (JsonNode a : r.path("adapters")) {
            page.append(row(a.path("name").asText(), a.path("r").asText(), a.path("lora_alpha").asText(), a.path("use_rslora").asText(),
                    a.path("manual_coef").asText(), a.path("path").asText()));
        }
        page.append("</table>\n<h2>Parameters</h2>\n<table>");
        r.path("parameters").fields().forEachRemaining(e -> page.append(row(e.getKey(), e.getValue().asText())));
        page.append("</table>\n");

        List<String> tasks = new ArrayList<>();
        r.path("adapters").forEach(a -> tasks.add(a.path("name").asText()));
        section(page, "Convergence: relative change of ΔW per iteration", () -> changeChart(r.path("iterations")),
                "‖ΔW(k) − ΔW(k−1)‖_F / ‖ΔW(k)‖_F per layer; the thick line is the largest over layers (log scale; zero is not drawn).");
        section(page, "Time per iteration", () -> timeChart(r.path("iterations")),
                "Wall time of each iteration, with the time spent in forward passes and statistics (inference) and in solves. "
                        + "On the actor engine these two are sums over workers and layers that run in parallel, and the wall time "
                        + "not spent in them is transfer and coordination.");
        section(page, "Coefficients ω per task and layer", () -> layerChart(r.path("layers"), "omega", tasks, true, "ω"),
                "Adaptive weights of the last solve: manual × ‖W0+ΔW_i‖²_F / ‖X_i(W0+ΔW_i)ᵀ‖²_F (log scale).");
        section(page, "SVD energy kept per layer", () -> layerChart(r.path("layers"), "svd_energy_kept", List.of("energy kept"), false, "fraction"),
                "Share of each layer's ‖ΔW‖²_F that the re-factorised LoRA keeps at the output rank (1 = exact).");
        page.append("<h2>Timings (ms)</h2>\n<table>");
        r.path("timings_ms").fields().forEachRemaining(e -> page.append(row(e.getKey(), String.format(Locale.ROOT, "%.1f", e.getValue().asDouble()))));
        page.append("</table>\n<p>Everything on this page comes from <code>merge-report.json</code> beside it.</p>\n</body></html>\n");
        AtomicFiles.writeString(html, page.toString());
    }

    private static Chart<?, ?> changeChart(JsonNode iterations) {
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        List<double[]> max = new ArrayList<>();
        for (JsonNode it : iterations) {
            int k = it.path("iteration").asInt();
            it.path("relative_change").fields().forEachRemaining(e -> {
                if (e.getValue().asDouble() > 0) {
                    series.computeIfAbsent(e.getKey(), x -> new ArrayList<>()).add(new double[]{k, e.getValue().asDouble()});
                }
            });
            if (it.path("max_relative_change").asDouble() > 0) {
                max.add(new double[]{k, it.path("max_relative_change").asDouble()});
            }
        }
        if (max.isEmpty()) {
            return null;
        }
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).xAxisTitle("iteration").yAxisTitle("relative change of ΔW").build();
        c.getStyler().setYAxisLogarithmic(true).setXAxisDecimalPattern("0");
        c.getStyler().setLegendVisible(series.size() <= 16).setLegendPosition(Styler.LegendPosition.OutsideE);
        series.forEach((layer, pts) -> c.addSeries(layer, col(pts, 0), col(pts, 1)));
        c.addSeries("max over layers", col(max, 0), col(max, 1)).setLineWidth(4f);
        return c;
    }

    private static Chart<?, ?> timeChart(JsonNode iterations) {
        List<String> x = new ArrayList<>();
        List<Double> inference = new ArrayList<>();
        List<Double> solve = new ArrayList<>();
        List<Double> wall = new ArrayList<>();
        for (JsonNode it : iterations) {
            x.add(String.valueOf(it.path("iteration").asInt()));
            inference.add(it.path("inference_ms").asDouble() / 1e3);
            solve.add(it.path("solve_ms").asDouble() / 1e3);
            wall.add(it.path("wall_ms").asDouble(it.path("inference_ms").asDouble() + it.path("solve_ms").asDouble()) / 1e3);
        }
        if (x.isEmpty()) {
            return null;
        }
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).xAxisTitle("iteration").yAxisTitle("seconds").build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        c.addSeries("wall", x, wall);
        c.addSeries("inference", x, inference);
        c.addSeries("solve", x, solve);
        return c;
    }

    /** One bar per layer and series: {@code key} holds one value per series (an array) or one value. */
    private static Chart<?, ?> layerChart(JsonNode layers, String key, List<String> names, boolean log, String yTitle) {
        List<String> x = new ArrayList<>();
        List<List<Double>> values = new ArrayList<>();
        names.forEach(n -> values.add(new ArrayList<>()));
        for (Iterator<Map.Entry<String, JsonNode>> it = layers.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue().path(key);
            if (v.isMissingNode() || (v.isArray() && v.size() != names.size())) {
                return null;
            }
            x.add(e.getKey());
            for (int i = 0; i < names.size(); i++) {
                values.get(i).add(v.isArray() ? v.get(i).asDouble() : v.asDouble());
            }
        }
        if (x.isEmpty()) {
            return null;
        }
        boolean positive = values.stream().flatMap(List::stream).allMatch(v -> v > 0);
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).xAxisTitle("layer").yAxisTitle(yTitle).build();
        if (log && positive) {
            // bars grow from zero, which a log axis cannot show: points and lines instead
            c.getStyler().setDefaultSeriesRenderStyle(CategorySeriesRenderStyle.Line);
        }
        c.getStyler().setYAxisLogarithmic(log && positive).setXAxisLabelRotation(x.size() > 6 ? 60 : 0);
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        if (!log) {
            c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        }
        for (int i = 0; i < names.size(); i++) {
            c.addSeries(names.get(i), x, values.get(i));
        }
        return c;
    }

    /** A chart and its caption; a chart that cannot be drawn is named on the page rather than failing the merge. */
    private static void section(StringBuilder page, String title, Supplier<Chart<?, ?>> chart, String caption) {
        String img;
        try {
            Chart<?, ?> c = chart.get();
            if (c == null) {
                return;
            }
            byte[] png = BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG);
            img = "<img alt=\"" + esc(title) + "\" src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(png) + "\">";
        } catch (IOException | RuntimeException e) {
            img = "<p><em>chart not drawn: " + esc(String.valueOf(e.getMessage())) + "</em></p>";
        }
        page.append("<h2>").append(esc(title)).append("</h2>\n").append(img).append("\n<p>").append(esc(caption)).append("</p>\n");
    }

    private static double[] col(List<double[]> pts, int i) {
        return pts.stream().mapToDouble(p -> p[i]).toArray();
    }

    private static String row(String... cells) {
        StringBuilder sb = new StringBuilder("<tr>");
        for (String c : cells) {
            sb.append("<td>").append(esc(c)).append("</td>");
        }
        return sb.append("</tr>\n").toString();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
