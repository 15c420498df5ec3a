package io.iteris.deploy;

import io.iteris.bench.Installation;
import io.iteris.bench.data.TextTasks;
import io.iteris.core.model.onnx.OnnxTensorSource;
import io.iteris.bench.train.TextLoras;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code iteris train-text}: trains the text benchmark's MiniLM LoRAs and heads (seeded, reproducible). */
@Command(name = "train-text", mixinStandardHelpOptions = true,
        description = "Train the text benchmark's rank-8 query/value LoRAs on all-MiniLM-L6-v2 and their heads, "
                + "from the original sources (unpack them first with deploy/text-sources.sh).")
public final class TrainTextCommand implements Callable<Integer> {
    @Option(names = "--sources", description = "the unpacked sources (default: target/text-sources in the iteris home)")
    Path sources;

    @Option(names = "--example", description = "where to write (default: examples/text in the iteris home)")
    Path example;

    @Option(names = "--only", split = ",", description = "train only these tasks; the others keep their adapters and heads in --example")
    java.util.Set<String> only = java.util.Set.of();

    @Option(names = "--step-scale", defaultValue = "1", description = "multiply every task's training steps (default: 1)")
    double stepScale;

    @Override
    public Integer call() throws Exception {
        Path src = sources != null ? sources : Installation.home().resolve("target/text-sources");
        if (!Files.isDirectory(src)) {
            throw new IllegalArgumentException(src + " not found: run deploy/text-sources.sh " + src + " first");
        }
        Path dir = example != null ? example : Installation.home().resolve("examples/text");
        Files.createDirectories(dir);
        // Every SameDiff step leaves ~100 MB of off-heap arrays that only a GC frees, and the small heap rarely
        // collects: six tasks in a row grew past 24 GB resident. ND4J's periodic GC keeps it near 3 GB.
        org.nd4j.linalg.factory.Nd4j.getMemoryManager().togglePeriodicGc(true);
        org.nd4j.linalg.factory.Nd4j.getMemoryManager().setAutoGcWindow(5000);
        TextTasks data = TextTasks.fromSources(src, Installation.minilmTokenizer());
        for (TextTasks.Task t : TextTasks.TASKS) {
            System.out.printf("%s: %d training examples, classes %s%n", t.name(), data.split(t, TextTasks.Split.TRAIN).size(), t.classes());
        }
        for (String t : only) {
            TextTasks.task(t);
        }
        TextLoras.train(data, OnnxTensorSource.open(Installation.minilm()), dir, stepScale, only, System.out::println);
        System.out.println("wrote the text adapters, heads and tokenised splits to " + dir);
        return 0;
    }
}
