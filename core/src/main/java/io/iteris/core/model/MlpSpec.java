package io.iteris.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The MLP of the test vectors ({@code e2e.json} → {@code model}): linear layers with tanh between them and
 * identity after the last, applied to every token; with feedback, tokens run in order and the previous
 * token's output is fed back into the next input: u_t = x_t + y_{t−1}·Rᵀ.
 *
 * <p>{@code parallel} adds projections that read the same input as a layer of the chain and add their outputs to
 * its pre-activation (extra name → the chain layer it runs beside), like the q, k and v projections of an
 * attention block read one input: what {@code bench scale} needs to exercise statistics shared by input.
 */
public record MlpSpec(List<String> layers, int[] dims, boolean feedback, Map<String, String> parallel) {

    public MlpSpec(List<String> layers, int[] dims, boolean feedback) {
        this(layers, dims, feedback, Map.of());
    }

    /** Per layer, the layer whose input it reads: itself in the chain, the chain layer it runs beside otherwise. */
    public Map<String, String> inputOf() {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String l : allLayers()) {
            out.put(l, parallel.getOrDefault(l, l));
        }
        return out;
    }

    /** Every LoRA-targetable layer: each chain layer followed by the projections beside it. */
    public List<String> allLayers() {
        List<String> out = new ArrayList<>();
        for (String l : layers) {
            out.add(l);
            parallel.forEach((extra, beside) -> {
                if (beside.equals(l)) {
                    out.add(extra);
                }
            });
        }
        return out;
    }

    /** Writes the description ({@code {"model": {...}}}), atomically; {@code feedback} is not written (none). */
    public void write(Path file, String forwardDescription) {
        if (feedback) {
            throw new IllegalStateException("writing a feedback model description is not supported");
        }
        ObjectMapper json = new ObjectMapper().enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
        com.fasterxml.jackson.databind.node.ObjectNode root = json.createObjectNode();
        com.fasterxml.jackson.databind.node.ObjectNode model = root.putObject("model");
        layers.forEach(model.putArray("layers")::add);
        com.fasterxml.jackson.databind.node.ArrayNode d = model.putArray("dims");
        for (int x : dims) {
            d.add(x);
        }
        model.put("forward", forwardDescription);
        model.putNull("feedback");
        if (!parallel.isEmpty()) {
            com.fasterxml.jackson.databind.node.ObjectNode p = model.putObject("parallel");
            parallel.forEach(p::put);
        }
        try {
            io.iteris.core.AtomicFiles.writeString(file, json.writeValueAsString(root) + "\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public static MlpSpec read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read model description: " + e.getMessage(), e);
        }
        JsonNode model = root.has("model") ? root.get("model") : root;
        JsonNode layers = model.get("layers");
        JsonNode dims = model.get("dims");
        if (layers == null || !layers.isArray() || dims == null || !dims.isArray() || dims.size() != layers.size() + 1) {
            throw new IllegalArgumentException(file + ": model description needs 'layers' (names) and 'dims' (one more than layers)");
        }
        List<String> names = new ArrayList<>();
        layers.forEach(n -> names.add(n.asText()));
        int[] d = new int[dims.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i).asInt();
            if (d[i] <= 0) {
                throw new IllegalArgumentException(file + ": dims[" + i + "] must be positive");
            }
        }
        JsonNode fb = model.get("feedback");
        Map<String, String> parallel = new java.util.LinkedHashMap<>();
        JsonNode p = model.get("parallel");
        if (p != null && !p.isNull()) {
            p.fields().forEachRemaining(e -> {
                if (!names.contains(e.getValue().asText()) || names.contains(e.getKey())) {
                    throw new IllegalArgumentException(file + ": parallel projection '" + e.getKey() + "' must run beside a layer of"
                            + " 'layers' and not be one itself");
                }
                parallel.put(e.getKey(), e.getValue().asText());
            });
        }
        return new MlpSpec(List.copyOf(names), d, fb != null && !fb.isNull(), java.util.Collections.unmodifiableMap(parallel));
    }
}
