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
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

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

    /** One chart of the report with its caption and the table of its numbers. */
    public record Section(String title, String caption, String table, Supplier<Chart<?, ?>> chart) {
        /** Whether there is anything to draw (a merge before its second solve has no change to show). */
        public boolean drawable() {
            return chart.get() != null;
        }

        /** The chart as a PNG, or null when there is nothing to draw. */
        public byte[] png() {
            Chart<?, ?> c = chart.get();
            try {
                return c == null ? null : BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * The report's charts, from a merge-report.json (or the part of one a running job has: the node console draws
     * the same charts from the job's events).
     */
    public static List<Section> sections(JsonNode r) {
        List<String> tasks = new ArrayList<>();
        r.path("adapters").forEach(a -> tasks.add(a.path("name").asText()));
        return List.of(
                new Section("Convergence: relative change of ΔW per iteration",
                        "‖ΔW(k) − ΔW(k−1)‖_F / ‖ΔW(k)‖_F per layer; the thick line is the largest over layers (log scale). A layer whose "
                                + "change was exactly 0 (converged) is drawn on the bottom line, marked with a black diamond.",
                        changeTable(r.path("iterations")), () -> changeChart(r.path("iterations"))),
                new Section("Time per iteration",
                        "Wall time of each iteration, with the time spent in forward passes and statistics (inference) and in solves. "
                                + "On the actor engine these two are sums over workers and layers that run in parallel, and the wall time "
                                + "not spent in them is transfer and coordination.",
                        timeTable(r.path("iterations")), () -> timeChart(r.path("iterations"))),
                new Section("Coefficients ω per task and layer",
                        "Adaptive weights of the last solve: manual × ‖W0+ΔW_i‖²_F / ‖X_i(W0+ΔW_i)ᵀ‖²_F (log scale).",
                        layerTable(r.path("layers"), "omega", tasks, "%.3e"), () -> layerChart(r.path("layers"), "omega", tasks, true, "omega")),
                new Section("SVD energy kept per layer",
                        "Share of each layer's ‖ΔW‖²_F that the re-factorised LoRA keeps at the output rank (1 = exact).",
                        layerTable(r.path("layers"), "svd_energy_kept", List.of("energy kept"), "%.6f"),
                        () -> layerChart(r.path("layers"), "svd_energy_kept", List.of("energy kept"), false, "fraction")));
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
                + "img{max-width:100%}table.numbers{font-size:85%}</style></head><body>\n");
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

        for (Section sec : sections(r)) {
            section(page, sec);
        }
        page.append("<h2>Timings (ms)</h2>\n<table>");
        r.path("timings_ms").fields().forEachRemaining(e -> page.append(row(e.getKey(), String.format(Locale.ROOT, "%.1f", e.getValue().asDouble()))));
        page.append("</table>\n<p>Everything on this page comes from <code>merge-report.json</code> beside it.</p>\n</body></html>\n");
        AtomicFiles.writeString(html, page.toString());
    }

    private static Chart<?, ?> changeChart(JsonNode iterations) {
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        List<double[]> max = new ArrayList<>();
        List<double[]> converged = new ArrayList<>();
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (JsonNode it : iterations) {
            for (Iterator<Map.Entry<String, JsonNode>> f = it.path("relative_change").fields(); f.hasNext(); ) {
                double v = f.next().getValue().asDouble();
                if (v > 0) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (hi == 0) {
            return null;
        }
        // whole decades, so the log axis is labelled at each one; a change of exactly 0 (the layer converged)
        // sits on the floor, a decade below the smallest change, marked
        double top = Math.pow(10, Math.ceil(Math.log10(hi)));
        double floor = Math.pow(10, Math.floor(Math.log10(lo)) - 1);
        for (JsonNode it : iterations) {
            int k = it.path("iteration").asInt();
            boolean anyZero = false;
            for (Iterator<Map.Entry<String, JsonNode>> f = it.path("relative_change").fields(); f.hasNext(); ) {
                Map.Entry<String, JsonNode> e = f.next();
                double v = e.getValue().asDouble();
                series.computeIfAbsent(e.getKey(), x -> new ArrayList<>()).add(new double[]{k, v > 0 ? v : floor});
                anyZero |= v == 0;
            }
            if (anyZero) {
                converged.add(new double[]{k, floor});
            }
            if (it.has("max_relative_change")) {
                max.add(new double[]{k, Math.max(floor, it.path("max_relative_change").asDouble())});
            }
        }
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).xAxisTitle("iteration (solve)").yAxisTitle("relative change of ΔW").build();
        c.getStyler().setYAxisLogarithmic(true).setYAxisLogarithmicDecadeOnly(true).setYAxisMin(floor).setYAxisMax(top)
                .setYAxisDecimalPattern("0E0").setXAxisDecimalPattern("0").setXAxisTickMarkSpacingHint(60);
        c.getStyler().setLegendVisible(series.size() <= 16).setLegendPosition(Styler.LegendPosition.OutsideE);
        series.forEach((layer, pts) -> c.addSeries(layer, col(pts, 0), col(pts, 1)).setMarker(SeriesMarkers.CIRCLE));
        c.addSeries("max over layers", col(max, 0), col(max, 1)).setMarker(SeriesMarkers.NONE).setLineWidth(4f);
        if (!converged.isEmpty()) {
            c.addSeries("converged (change 0)", col(converged, 0), col(converged, 1)).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter)
                    .setMarker(SeriesMarkers.DIAMOND).setMarkerColor(java.awt.Color.BLACK);
        }
        return c;
    }

    /** The convergence chart's numbers: one row per layer, one column per solve ("converged" where the change was 0). */
    public static String changeTable(JsonNode iterations) {
        List<String> its = new ArrayList<>();
        Map<String, Map<String, String>> rows = new LinkedHashMap<>();
        for (JsonNode it : iterations) {
            if (!it.has("relative_change")) {
                continue;
            }
            String k = it.path("iteration").asText();
            its.add(k);
            it.path("relative_change").fields().forEachRemaining(e -> rows.computeIfAbsent(e.getKey(), x -> new LinkedHashMap<>())
                    .put(k, e.getValue().asDouble() == 0 ? "converged" : String.format(Locale.ROOT, "%.2e", e.getValue().asDouble())));
            rows.computeIfAbsent("max over layers", x -> new LinkedHashMap<>())
                    .put(k, String.format(Locale.ROOT, "%.2e", it.path("max_relative_change").asDouble()));
        }
        if (its.isEmpty()) {
            return "";
        }
        Map<String, String> max = rows.remove("max over layers");
        rows.put("max over layers", max);
        List<String> header = new ArrayList<>(List.of("layer \\ solve"));
        header.addAll(its);
        StringBuilder sb = new StringBuilder("<table class=\"numbers\">").append(header(header));
        rows.forEach((layer, v) -> {
            List<String> cells = new ArrayList<>(List.of(layer));
            its.forEach(k -> cells.add(v.getOrDefault(k, "")));
            sb.append(row(cells.toArray(String[]::new)));
        });
        return sb.append("</table>\n").toString();
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
            // bars grow from zero, which a log axis cannot show; layers are categories, so points without lines between
            // them, on whole decades so the axis is labelled at each one
            double lo = values.stream().flatMap(List::stream).mapToDouble(Double::doubleValue).min().orElseThrow();
            double hi = values.stream().flatMap(List::stream).mapToDouble(Double::doubleValue).max().orElseThrow();
            double bottom = Math.pow(10, Math.floor(Math.log10(lo)));
            double top = Math.pow(10, Math.ceil(Math.log10(hi)));
            c.getStyler().setDefaultSeriesRenderStyle(CategorySeriesRenderStyle.Scatter).setYAxisLogarithmicDecadeOnly(true)
                    .setYAxisMin(bottom).setYAxisMax(top > bottom ? top : bottom * 10).setYAxisDecimalPattern("0E0");
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

    private static String timeTable(JsonNode iterations) {
        StringBuilder sb = new StringBuilder("<table class=\"numbers\">").append(header(List.of("iteration", "wall s", "inference s", "solve s")));
        for (JsonNode it : iterations) {
            double inf = it.path("inference_ms").asDouble();
            double sol = it.path("solve_ms").asDouble();
            sb.append(row(it.path("iteration").asText(), String.format(Locale.ROOT, "%.3f", it.path("wall_ms").asDouble(inf + sol) / 1e3),
                    String.format(Locale.ROOT, "%.3f", inf / 1e3), String.format(Locale.ROOT, "%.3f", sol / 1e3)));
        }
        return sb.append("</table>\n").toString();
    }

    private static String layerTable(JsonNode layers, String key, List<String> names, String format) {
        List<String> head = new ArrayList<>(List.of("layer"));
        head.addAll(names);
        StringBuilder sb = new StringBuilder("<table class=\"numbers\">").append(header(head));
        for (Iterator<Map.Entry<String, JsonNode>> it = layers.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue().path(key);
            if (v.isMissingNode()) {
                continue;
            }
            List<String> cells = new ArrayList<>(List.of(e.getKey()));
            for (int i = 0; i < names.size(); i++) {
                cells.add(String.format(Locale.ROOT, format, v.isArray() ? v.path(i).asDouble() : v.asDouble()));
            }
            sb.append(row(cells.toArray(String[]::new)));
        }
        return sb.append("</table>\n").toString();
    }

    /** A chart, its caption and its numbers; a chart that cannot be drawn is named on the page rather than failing the merge. */
    private static void section(StringBuilder page, Section sec) {
        String img;
        try {
            byte[] png = sec.png();
            if (png == null) {
                return;
            }
            img = "<img alt=\"" + esc(sec.title()) + "\" src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(png) + "\">";
        } catch (RuntimeException e) {
            img = "<p><em>chart not drawn: " + esc(String.valueOf(e.getMessage())) + "</em></p>";
        }
        page.append("<h2>").append(esc(sec.title())).append("</h2>\n").append(img).append("\n<p>").append(esc(sec.caption())).append("</p>\n")
                .append(sec.table());
    }

    private static double[] col(List<double[]> pts, int i) {
        return pts.stream().mapToDouble(p -> p[i]).toArray();
    }

    private static String header(List<String> cells) {
        StringBuilder sb = new StringBuilder("<tr>");
        cells.forEach(c -> sb.append("<th>").append(esc(c)).append("</th>"));
        return sb.append("</tr>\n").toString();
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
