package io.iteris.core.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsException;
import io.iteris.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Calibration from plain text: each task's texts tokenized with the model's own Hugging Face {@code tokenizer.json}
 * (any kind: BPE as LLaMA, Mistral and Qwen use, WordPiece, Unigram) into {@code <task>.input_ids} and
 * {@code <task>.attention_mask} [samples, tokens] (int64, right-padded, padding recorded in the mask), the format
 * {@link Calibration} reads. Texts come one per line, or as JSON lines with a {@code "text"} field; an optional
 * template (with {@code {text}} in it) wraps each one, e.g. a chat template for instruction LoRAs.
 */
public final class TextCalibration {
    /** One task's texts. */
    public record Task(String name, Path texts) {
    }

    private TextCalibration() {
    }

    /**
     * @param maxTokens each text is cut to at most this many tokens (special tokens included)
     * @param template  null, or a template containing {@code {text}}
     * @return {@code out}
     */
    public static Path write(Path tokenizer, List<Task> tasks, int maxTokens, String template, Path out) {
        if (maxTokens <= 0) {
            throw new IllegalArgumentException("--max-tokens must be positive, got " + maxTokens);
        }
        if (template != null && !template.contains("{text}")) {
            throw new IllegalArgumentException("the template must contain {text}, where each calibration text goes: " + template);
        }
        if (!Files.isRegularFile(tokenizer)) {
            throw new IllegalArgumentException(tokenizer + ": no such tokenizer file (a Hugging Face tokenizer.json)");
        }
        SafetensorsWriter w = new SafetensorsWriter().metadata("tokenizer", tokenizer.getFileName().toString())
                .metadata("max_tokens", Integer.toString(maxTokens));
        try (HuggingFaceTokenizer tok = open(tokenizer)) {
            for (Task t : tasks) {
                List<String> texts = readTexts(t.texts());
                List<long[]> ids = new ArrayList<>();
                for (String text : texts) {
                    Encoding e = tok.encode(template == null ? text : template.replace("{text}", text));
                    long[] all = e.getIds();
                    ids.add(java.util.Arrays.copyOf(all, Math.min(all.length, maxTokens)));
                }
                int len = ids.stream().mapToInt(a -> a.length).max().orElse(0);
                if (len == 0) {
                    throw new IllegalArgumentException(t.texts() + ": task '" + t.name() + "' tokenizes to no tokens");
                }
                double[] flat = new double[ids.size() * len];
                double[] mask = new double[ids.size() * len];
                for (int s = 0; s < ids.size(); s++) {
                    long[] q = ids.get(s);
                    for (int j = 0; j < q.length; j++) {
                        flat[s * len + j] = q[j];
                        mask[s * len + j] = 1;
                    }
                }
                long[] shape = {ids.size(), len};
                w.add(t.name() + ".input_ids", DType.I64, shape, flat);
                w.add(t.name() + ".attention_mask", DType.I64, shape, mask);
            }
        }
        w.write(out);
        return out;
    }

    private static HuggingFaceTokenizer open(Path tokenizer) {
        try {
            return HuggingFaceTokenizer.builder().optTokenizerPath(tokenizer).optAddSpecialTokens(true).optPadding(false)
                    .optTruncation(false).build();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(tokenizer + ": not a tokenizer the Hugging Face tokenizers library can load: "
                    + e.getMessage(), e);
        }
    }

    /** A task's texts: JSON lines with a "text" field (.jsonl), or one text per line; blank lines are skipped. */
    static List<String> readTexts(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the calibration texts " + file + ": " + e.getMessage(), e);
        }
        boolean json = file.getFileName().toString().endsWith(".jsonl");
        ObjectMapper mapper = new ObjectMapper();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            if (json) {
                try {
                    JsonNode n = mapper.readTree(line);
                    if (!n.path("text").isTextual()) {
                        throw new SafetensorsException(file, "line " + (i + 1) + " has no \"text\" string");
                    }
                    out.add(n.get("text").asText());
                } catch (IOException e) {
                    throw new SafetensorsException(file, "line " + (i + 1) + " is not JSON: " + e.getMessage());
                }
            } else {
                out.add(line);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no calibration texts");
        }
        return out;
    }
}
