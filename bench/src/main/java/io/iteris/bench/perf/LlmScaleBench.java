package io.iteris.bench.perf;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.demo.TinyLlama;
import io.iteris.core.engine.IterationReport;
import io.iteris.core.engine.Merger;
import io.iteris.core.model.TextCalibration;
import io.iteris.core.safetensors.DType;
import io.iteris.bench.cluster.NodeProcess;
import io.iteris.bench.cluster.ProcessCluster;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench scale --llm}: a LLaMA-shaped decoder whose external data file is over 2.2 GB (float32; the layout every
 * large export has), three LoRAs on q_proj and v_proj, calibration from text through its tokenizer.json, merged by
 * IterIS on three node processes on 127.0.0.1. Reports each node's peak resident memory against the model's size, split
 * into anonymous memory (heap, off-heap buffers, ONNX Runtime's own allocations: what a node really holds) and
 * file-backed pages (the model's external data, mapped by ONNX Runtime: page cache, shared by the processes on a
 * host and given back under pressure), sampled every 250 ms.
 */
final class LlmScaleBench {
    /** hidden 1024, MLP 16384, 10 layers, 32000 tokens: 2.42 GB of float32 weights. */
    static final TinyLlama.Shape FULL = new TinyLlama.Shape(32000, 1024, 16384, 10, 64, DType.F32, true);
    static final TinyLlama.Shape QUICK = new TinyLlama.Shape(512, 64, 256, 2, 64, DType.F32, true);

    private LlmScaleBench() {
    }

    static ResultTable run(boolean quick, Path dir, String heap, PrintStream log) {
        TinyLlama.Shape shape = quick ? QUICK : FULL;
        long t0 = System.nanoTime();
        TinyLlama.Example ex = TinyLlama.writeExample(dir.resolve("llm"), shape, List.of(8, 16, 32), List.of("q_proj", "v_proj"), 8, 11);
        long modelBytes = size(ex.model().resolveSibling(TinyLlama.DATA)) + size(ex.model());
        log.printf(Locale.ROOT, "  generated %s: %.2f GB of float32 weights in %s (%.0f s)%n", ex.model(), modelBytes / 1e9,
                TinyLlama.DATA, (System.nanoTime() - t0) / 1e9);
        List<TextCalibration.Task> tasks = new ArrayList<>();
        for (int i = 0; i < ex.tasks().size(); i++) {
            tasks.add(new TextCalibration.Task(ex.tasks().get(i), ex.texts().get(i)));
        }
        Path calibration = TextCalibration.write(ex.tokenizer(), tasks, 16, null, dir.resolve("llm/calibration.safetensors"));
        MergeSettings s = settings(ex, calibration, dir.resolve("out"));
        // the client checks inputs and reads the calibration; only the workers start the model
        Merger.LoadedJob job = Merger.loadForSubmission(s, true);
        ResultTable t = new ResultTable("node", "peak_rss_mib", "peak_anon_mib", "peak_file_mib", "model_mib", "anon_over_model");
        try (ProcessCluster cluster = new ProcessCluster(dir.resolve("cluster"))) {
            cluster.start(3, quick ? "1g" : heap);
            log.printf("  3 node processes, Java heap at most %s each%n", quick ? "1g" : heap);
            long t1 = System.nanoTime();
            // the nodes' anonymous and file-backed resident memory, sampled while the merge runs
            long[][] peaks = new long[cluster.nodes.size()][2];
            java.util.concurrent.ScheduledExecutorService sampler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
            sampler.scheduleAtFixedRate(() -> {
                for (int i = 0; i < cluster.nodes.size(); i++) {
                    long[] now = cluster.nodes.get(i).rssAnonAndFile();
                    peaks[i][0] = Math.max(peaks[i][0], now[0]);
                    peaks[i][1] = Math.max(peaks[i][1], now[1]);
                }
            }, 0, 250, java.util.concurrent.TimeUnit.MILLISECONDS);
            Merger.Result r;
            try {
                r = new ActorEngine(cluster.client, p -> { }, Duration.ofHours(2)).submit(job, "llm-" + ActorEngine.newJobId(), null);
            } finally {
                sampler.shutdownNow();
            }
            log.printf(Locale.ROOT, "  merged on 3 nodes in %.1f s%n", (System.nanoTime() - t1) / 1e9);
            for (IterationReport it : r.outcome().iterations()) {
                log.printf(Locale.ROOT, "    iteration %d: wall %.1f s, inference %.1f s (summed over units), solves %.1f s (summed over layers)%n",
                        it.iteration() + 1, it.wallNanos() / 1e9, it.inferenceNanos() / 1e9, it.solveNanos() / 1e9);
            }
            double model = modelBytes / (double) (1 << 20);
            for (int i = 0; i < cluster.nodes.size(); i++) {
                NodeProcess p = cluster.nodes.get(i);
                double anon = peaks[i][0] / (double) (1 << 20);
                t.add(p.port(), p.peakRssBytes() / (double) (1 << 20), anon, peaks[i][1] / (double) (1 << 20), model, anon / model);
            }
        }
        return t;
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static MergeSettings settings(TinyLlama.Example ex, Path calibration, Path out) {
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", "iteris");
        m.put("iteris.merge.base", ex.model().toString());
        m.put("iteris.merge.calibration", calibration.toString());
        m.put("iteris.merge.out", out.toString());
        m.put("iteris.merge.overwrite", true);
        m.put("iteris.methods.iteris.iterations", 2);
        List<Map<String, Object>> adapters = new ArrayList<>();
        for (int i = 0; i < ex.tasks().size(); i++) {
            adapters.add(Map.of("name", ex.tasks().get(i), "path", ex.adapters().get(i).toString()));
        }
        m.put("iteris.merge.adapters", adapters);
        return MergeSettings.from(ConfigFactory.parseMap(m).withFallback(ConfigFactory.load()));
    }
}
