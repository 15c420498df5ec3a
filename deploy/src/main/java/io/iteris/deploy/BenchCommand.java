package io.iteris.deploy;

import io.iteris.bench.Installation;
import io.iteris.bench.quality.QualityRun;
import io.iteris.bench.perf.Benchmarks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code iteris bench quality|solve|gram|stream|engine|scale|soak|transfer|inference}: merge quality on real images, and the speed of
 * every hot path against a reference measured in the same run.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = {
        "Benchmarks. quality: merge quality on real data (every method). solve: per-layer IterIS solve vs bare dpotrf. "
                + "gram: statistics accumulation vs bare dgemm. stream: statistic chunks between two nodes vs a plain socket. "
                + "engine: a whole merge, actor engine vs local. scale: many large layers on a 3-process cluster. "
                + "soak: merge after merge on a 3-process cluster, each node's heap after GC and RSS per job. "
                + "transfer: a unit's statistics with the Gram on the host vs in the ONNX Runtime session (bytes out, time). "
                + "inference: capture and statistics passes vs a plain ONNX Runtime run of the unmodified model (MiniLM, LLaMA-shaped)."})
public final class BenchCommand implements Callable<Integer> {
    static final List<String> BENCHMARKS = List.of("quality", "solve", "gram", "stream", "engine", "scale", "soak", "transfer", "inference");

    @Parameters(index = "0", description = "quality | solve | gram | stream | engine | scale | soak | transfer | inference")
    String which;

    @Option(names = "--out", description = "quality: where tables, charts, quality.csv and report.md go (required); others: a work dir")
    Path out;

    @Option(names = "--csv", description = "also write the result table as CSV to this file")
    Path csv;

    @Option(names = "--example", description = "models and data (default: examples/fashion, or examples/text for --suite text, in the iteris home)")
    Path example;

    @Option(names = "--suite", defaultValue = "image", description = "quality: image (Fashion-MNIST MLP) or text (all-MiniLM-L6-v2 via ONNX Runtime)")
    String suite;

    @Option(names = "--calibration", defaultValue = "32", description = "quality: calibration samples per task")
    int calibration;

    @Option(names = "--methods", split = ",", description = "quality: the rivals to compare IterIS with (default: every method)")
    List<String> methods = List.of();

    @Option(names = "--ridge-ratios", split = ",", defaultValue = "1", paramLabel = "R[,R...]",
            description = "quality: ratios α1/α2 IterIS's grid tries with each α2 (default 1, equal ridges as in the paper). Where no"
                    + " calibration row reaches, IterIS keeps Σλ1_iΔW_i / Σλ2_i of the tasks' update: the ratio sets how much")
    double[] ridgeRatios;

    @Option(names = "--augment", defaultValue = "0", description = "quality, image suite: shifted copies (up to 2 pixels) added per "
            + "calibration image, a label-free augmentation (default 0)")
    int augment;

    @Option(names = "--draws", defaultValue = "0", description = "quality: calibration draws the merge of every task is repeated on "
            + "(default: 5 on images, 2 on text; ± needs at least 2)")
    int draws;

    @Option(names = "--quick", description = "small sizes and few repetitions: a smoke run")
    boolean quick;

    @Option(names = "--dims", split = ",", description = "solve/gram: layer widths (default 256,512,1024,2048; quick: 128,256); transfer: hidden sizes (256,512,1024)")
    int[] dims;

    @Option(names = "--tasks", split = ",", description = "solve: task counts (default 2,4,8); scale: tasks (default 4)")
    int[] tasks;

    @Option(names = "--rank", defaultValue = "16", description = "solve: rank of every task's LoRA")
    int rank;

    @Option(names = "--projections", defaultValue = "3",
            description = "scale: LoRA-targeted projections reading each layer's input, sharing its statistics (3: like q, k, v)")
    int projections;

    @Option(names = "--layers", defaultValue = "16", description = "scale: layers of the synthetic model")
    int layers;

    @Option(names = "--width", defaultValue = "1024", description = "scale: width of every layer")
    int width;

    @Option(names = "--node-heap", defaultValue = "3g", description = "scale: Java heap of each node process")
    String nodeHeap;

    @Option(names = "--jobs", description = "soak: merges one after another (default 20; quick: 3)")
    Integer jobs;

    @Option(names = "--llm", description = "scale: a LLaMA-shaped model with over 2.2 GB of external data (quick: a small one), per-node peak RSS")
    boolean llm;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda:N", description = "transfer: where ONNX Runtime runs (cuda needs the GPU build)")
    String device;

    @Override
    public Integer call() throws Exception {
        if (!BENCHMARKS.contains(which)) {
            throw new IllegalArgumentException("unknown benchmark '" + which + "'; available: " + String.join(", ", BENCHMARKS));
        }
        System.setProperty("java.awt.headless", "true");
        Path ex = example != null ? example : Installation.home().resolve("examples/fashion");
        if (which.equals("quality")) {
            if (out == null) {
                throw new IllegalArgumentException("bench quality needs --out DIR");
            }
            if (suite.equals("text")) {
                if (augment > 0) {
                    throw new IllegalArgumentException("--augment applies to the image suite only");
                }
                QualityRun.run(new QualityRun.Options(suite, example != null ? example : Installation.home().resolve("examples/text"),
                        Installation.minilm(), out, calibration, 0, ridgeRatios, methods, quick, draws), System.out);
            } else {
                QualityRun.run(new QualityRun.Options(suite, ex, null, out, calibration, augment, ridgeRatios, methods, quick, draws), System.out);
            }
            return 0;
        }
        Path work = out != null ? out : Files.createTempDirectory("iteris-bench-" + which);
        Benchmarks.Options o = new Benchmarks.Options(quick, dims, tasks, layers, width, nodeHeap, ex, work, csv, jobs, llm, rank, projections, device);
        Benchmarks.run(which, o, System.out);
        return 0;
    }
}
