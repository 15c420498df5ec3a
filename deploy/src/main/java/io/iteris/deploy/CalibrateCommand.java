package io.iteris.deploy;

import io.iteris.core.model.TextCalibration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code iteris calibrate}: each task's plain texts through the model's tokenizer.json into a calibration file. */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = "Tokenize calibration texts with a Hugging Face tokenizer.json into <task>.input_ids and <task>.attention_mask.")
public final class CalibrateCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", required = true, description = "the model's tokenizer.json (any Hugging Face tokenizer)")
    Path tokenizer;

    @Option(names = "--task", required = true, paramLabel = "NAME=FILE",
            description = "a task's texts, one per line or JSON lines with a \"text\" field (.jsonl); repeatable, in task order")
    List<String> tasks = new ArrayList<>();

    @Option(names = "--max-tokens", defaultValue = "128", description = "cut each text to at most this many tokens (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--template", paramLabel = "TEXT",
            description = "wrap each text, e.g. a chat template for instruction LoRAs: \"<s>[INST] {text} [/INST]\"")
    String template;

    @Option(names = "--out", required = true, description = "the calibration file to write (.safetensors)")
    Path out;

    @Override
    public Integer call() {
        Path written = TextCalibration.write(tokenizer, parse(tasks), maxTokens, template, out);
        System.out.printf("wrote %s: %d tasks, at most %d tokens per text%n", written, tasks.size(), maxTokens);
        return 0;
    }

    /** NAME=FILE pairs, in order. */
    static List<TextCalibration.Task> parse(List<String> pairs) {
        List<TextCalibration.Task> out = new ArrayList<>();
        for (String t : pairs) {
            int eq = t.indexOf('=');
            if (eq <= 0 || eq == t.length() - 1) {
                throw new IllegalArgumentException("a task is NAME=FILE, got '" + t + "'");
            }
            out.add(new TextCalibration.Task(t.substring(0, eq), Path.of(t.substring(eq + 1))));
        }
        return out;
    }
}
