package io.iteris.core.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iteris.core.AtomicFiles;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.MergeMethod;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/** {@code merge-report.json}: what was merged, how, how it converged, and how long each part took. */
public final class MergeReport {
    private MergeReport() {
    }

    /** Per layer the SVD energy kept, read back from a written report (empty when absent). */
    public static Map<String, Double> energyKept(Path file) {
        Map<String, Double> out = new java.util.LinkedHashMap<>();
        try {
            new ObjectMapper().readTree(file.toFile()).path("layers").fields().forEachRemaining(e -> {
                if (e.getValue().has("svd_energy_kept")) {
                    out.put(e.getKey(), e.getValue().get("svd_energy_kept").asDouble());
                }
            });
        } catch (IOException e) {
            return Map.of();
        }
        return out;
    }

    public static void write(Path file, MergeSettings s, MergeMethod method, MergeInputs inputs, MergeOutcome outcome,
                             Map<String, Double> energyKept, Map<String, Double> timings) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("method", method.name());
        root.put("method_reference", method.reference());
        root.set("parameters", json.valueToTree(method.parameters()));
        root.put("base", String.valueOf(s.base()));
        ArrayNode adapters = root.putArray("adapters");
        for (NamedAdapter a : inputs.adapters()) {
            adapters.addObject().put("name", a.name()).put("path", a.adapter().directory().toString())
                    .put("manual_coef", a.manualCoef()).put("r", a.adapter().config().r())
                    .put("lora_alpha", a.adapter().config().loraAlpha()).put("use_rslora", a.adapter().config().useRslora());
        }
        root.put("output_format", s.outputFormat().name().toLowerCase(java.util.Locale.ROOT));
        root.put("precision", s.precision());
        ArrayNode iterations = root.putArray("iterations");
        for (IterationReport r : outcome.iterations()) {
            ObjectNode it = iterations.addObject();
            it.put("iteration", r.iteration() + 1);
            if (!r.relativeChange().isEmpty()) {
                it.put("max_relative_change", r.maxRelativeChange());
                it.set("relative_change", json.valueToTree(r.relativeChange()));
            }
            it.put("inference_ms", r.inferenceNanos() / 1e6);
            it.put("solve_ms", r.solveNanos() / 1e6);
            it.put("wall_ms", r.wallNanos() / 1e6);
        }
        ObjectNode layers = root.putObject("layers");
        for (Map.Entry<String, LayerMergeResult> e : outcome.finalResults().entrySet()) {
            ObjectNode l = layers.putObject(e.getKey());
            l.put("solver", e.getValue().solver());
            e.getValue().diagnostics().forEach((k, v) -> l.set(k, json.valueToTree(v)));
            if (energyKept.containsKey(e.getKey())) {
                l.put("svd_energy_kept", energyKept.get(e.getKey()));
            }
        }
        ObjectNode t = root.putObject("timings_ms");
        timings.forEach(t::put);
        t.put("engine_total_ms", outcome.totalNanos() / 1e6);
        try {
            AtomicFiles.writeString(file, json.writeValueAsString(root) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
