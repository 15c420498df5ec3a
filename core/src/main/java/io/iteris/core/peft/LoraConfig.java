package io.iteris.core.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The fields of a PEFT {@code adapter_config.json} that decide ΔW: rank, alpha, rsLoRA, layout,
 * and the per-module rank and alpha patterns.
 *
 * @param targetModules a list of module-name suffixes, or a single regular expression (PEFT allows both)
 */
public record LoraConfig(int r, double loraAlpha, boolean useRslora, boolean fanInFanOut,
                         List<String> targetModules, String targetModulesRegex,
                         Map<String, Integer> rankPattern, Map<String, Double> alphaPattern,
                         String baseModelNameOrPath, String taskType) {

    public static final String FILE_NAME = "adapter_config.json";

    public static LoraConfig read(Path file) {
        JsonNode root;
        try {
            // a key given twice (say two different r) is refused: which one PEFT would use is not ours to guess
            root = new ObjectMapper().enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(file.toFile());
        } catch (IOException e) {
            if (e instanceof NoSuchFileException || !file.toFile().exists()) {
                throw new AdapterException(file, "missing (a PEFT adapter directory needs " + FILE_NAME + ")");
            }
            throw new AdapterException(file, "not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new AdapterException(file, "not a JSON object");
        }
        String peftType = text(root, "peft_type", "LORA");
        if (!peftType.equals("LORA")) {
            throw new AdapterException(file, "peft_type is " + peftType + "; only LORA adapters can be merged");
        }
        int r = positiveInt(file, root, "r");
        double alpha = root.has("lora_alpha") ? positiveNumber(file, root.get("lora_alpha"), "lora_alpha") : r;
        List<String> targets = new ArrayList<>();
        String regex = null;
        JsonNode tm = root.get("target_modules");
        if (tm != null && tm.isArray()) {
            tm.forEach(n -> targets.add(n.asText()));
        } else if (tm != null && tm.isTextual()) {
            regex = tm.asText();
        }
        Map<String, Integer> ranks = new LinkedHashMap<>();
        JsonNode rp = root.get("rank_pattern");
        if (rp != null && rp.isObject()) {
            rp.fields().forEachRemaining(e -> {
                if (!e.getValue().canConvertToInt() || e.getValue().asInt() <= 0) {
                    throw new AdapterException(file, "rank_pattern['" + e.getKey() + "'] must be a positive integer");
                }
                ranks.put(e.getKey(), e.getValue().asInt());
            });
        }
        Map<String, Double> alphas = new LinkedHashMap<>();
        JsonNode ap = root.get("alpha_pattern");
        if (ap != null && ap.isObject()) {
            ap.fields().forEachRemaining(e -> alphas.put(e.getKey(),
                    positiveNumber(file, e.getValue(), "alpha_pattern['" + e.getKey() + "']")));
        }
        return new LoraConfig(r, alpha, root.path("use_rslora").asBoolean(false),
                root.path("fan_in_fan_out").asBoolean(false), Collections.unmodifiableList(targets), regex,
                Collections.unmodifiableMap(ranks), Collections.unmodifiableMap(alphas),
                text(root, "base_model_name_or_path", null), text(root, "task_type", null));
    }

    private static String text(JsonNode root, String key, String fallback) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? fallback : n.asText();
    }

    private static int positiveInt(Path file, JsonNode root, String key) {
        JsonNode n = root.get(key);
        if (n == null || !n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
            throw new AdapterException(file, "'" + key + "' must be a positive integer, got " + n);
        }
        return n.asInt();
    }

    private static double positiveNumber(Path file, JsonNode n, String key) {
        if (n == null || !n.isNumber() || !(n.asDouble() > 0) || !Double.isFinite(n.asDouble())) {
            throw new AdapterException(file, "'" + key + "' must be a positive number, got " + n);
        }
        return n.asDouble();
    }

    /** The rank this config declares for a module (rank_pattern wins over r). */
    public int rankFor(String module) {
        String key = patternKey(rankPattern.keySet(), module);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha this config declares for a module (alpha_pattern wins over lora_alpha). */
    public double alphaFor(String module) {
        String key = patternKey(alphaPattern.keySet(), module);
        return key == null ? loraAlpha : alphaPattern.get(key);
    }

    /** s = alpha/r, or alpha/√r with rsLoRA. */
    public double scaleFor(String module) {
        int rank = rankFor(module);
        double alpha = alphaFor(module);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** PEFT's rule: a pattern applies when the module name ends with it at a dot boundary. */
    static String patternKey(java.util.Set<String> patterns, String module) {
        for (String p : patterns) {
            if (module.equals(p) || Pattern.compile("(.*\\.)?(" + p + ")").matcher(module).matches()) {
                return p;
            }
        }
        return null;
    }
}
