package io.iteris.bench.perf;

import com.google.protobuf.Message;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.client.JobHistory;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.demo.DemoExample;
import io.iteris.core.engine.IterationReport;
import io.iteris.core.engine.Merger;
import io.iteris.bench.cluster.NodeProcess;
import io.iteris.bench.cluster.ProcessCluster;
import io.iteris.protocol.WorkUnitCompleted;
import org.apache.pekko.persistence.query.EventEnvelope;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code bench scale}: a synthetic model of many square layers (default 16 × 1024, 4 tasks, rank 16) merged
 * by IterIS on three node processes on 127.0.0.1 (shared H2 journal over TCP and checkpoint directory):
 * time per iteration, statistic bytes moved (measured by the workers, and predicted), and each node's peak
 * resident memory. The predictions are the formulas docs/scaling.md applies to LLaMA-7B.
 */
final class ScaleBench {
    /** @param projections LoRA-targeted projections reading each layer's input (3: like q, k and v), sharing its statistics */
    record Plan(int layers, int width, int tasks, int rank, int samples, int tokens, int shardsPerTask, int iterations, String heap,
                int projections) {
        long rowsPerTask() {
            return (long) samples * tokens;
        }

        /**
         * Statistic bytes streamed in an iteration, float64: per unit and layer G at the first (where C = H = G), then
         * C and H; the symmetric G and H travel as their upper triangle (width·(width+1)/2 values). Per input, not per
         * projection: the projections reading one input share its statistics.
         */
        long predictedBytes(int iteration) {
            long triangle = (long) width * (width + 1) / 2;
            long values = iteration == 0 ? triangle : (long) width * width + triangle;
            return (long) tasks * shardsPerTask * layers * values * 8;
        }

        /** The raw features the statistics replace: X and X̃ of every row at every layer, float32. */
        long rawFeatureBytes() {
            return 2L * tasks * rowsPerTask() * layers * width * 4;
        }

        /** A solver's memory for one input while solving: per task running sums of G, C, H, plus the system, W0 and the result. */
        long solverBytesPerLayer() {
            long m = (long) width * width * 8;
            return (long) tasks * 3 * m + 3 * m;
        }
    }

    private ScaleBench() {
    }

    static ResultTable run(Plan plan, Path dir, PrintStream log) {
        Path model = dir.resolve("model");
        log.printf("  generating %d layers of %d x %d (%d projection(s) reading each), %d task LoRAs of rank %d, %d x %d calibration"
                        + " rows per task%n", plan.layers(), plan.width(), plan.width(), plan.projections(), plan.tasks(), plan.rank(),
                plan.samples(), plan.tokens());
        DemoExample.generate(model, DemoExample.Shape.uniform(plan.layers(), plan.width(), plan.tasks(), plan.rank(), plan.samples(),
                plan.tokens(), plan.projections()), 5);
        Merger.LoadedJob job = Merger.load(settings(plan, model, dir.resolve("out")));
        ResultTable t = new ResultTable("iteration", "wall_s", "inference_s", "solve_s", "bytes_moved_mib", "predicted_mib");
        try (ProcessCluster cluster = new ProcessCluster(dir.resolve("cluster"))) {
            cluster.start(3, plan.heap());
            String jobId = "scale-" + ActorEngine.newJobId();
            long t0 = System.nanoTime();
            Merger.Result r = new ActorEngine(cluster.client, p -> { }, Duration.ofHours(2)).submit(job, jobId, null);
            double total = (System.nanoTime() - t0) / 1e9;
            Map<Integer, Long> moved = new TreeMap<>();
            for (EventEnvelope e : JobHistory.events(cluster.client.system(), jobId)) {
                if (e.event() instanceof WorkUnitCompleted c) {
                    moved.merge(c.getUnit().getIteration(), c.getBytesSent(), Long::sum);
                }
            }
            for (IterationReport it : r.outcome().iterations()) {
                t.add(it.iteration() + 1, it.wallNanos() / 1e9, it.inferenceNanos() / 1e9, it.solveNanos() / 1e9,
                        moved.getOrDefault(it.iteration(), 0L) / (double) (1 << 20), plan.predictedBytes(it.iteration()) / (double) (1 << 20));
            }
            List<String> memory = new ArrayList<>();
            for (NodeProcess p : cluster.nodes) {
                memory.add(String.format(java.util.Locale.ROOT, "node %d: %.0f MiB", p.port(), p.peakRssBytes() / (double) (1 << 20)));
            }
            log.printf("  merge on 3 nodes: %.1f s in all%n  peak resident memory (heap + off-heap) per node process: %s%n", total,
                    String.join(", ", memory));
            log.printf("  predicted: solver memory per input %.0f MiB; raw float32 features per iteration %.0f MiB "
                            + "(statistics instead: %.0f MiB, then %.0f MiB)%n", plan.solverBytesPerLayer() / (double) (1 << 20),
                    plan.rawFeatureBytes() / (double) (1 << 20), plan.predictedBytes(0) / (double) (1 << 20),
                    plan.predictedBytes(1) / (double) (1 << 20));
        }
        return t;
    }

    private static MergeSettings settings(Plan plan, Path model, Path out) {
        List<Map<String, Object>> adapters = new ArrayList<>();
        for (int i = 0; i < plan.tasks(); i++) {
            adapters.add(Map.of("name", "task" + i, "path", model.resolve("adapters/task" + i).toString()));
        }
        var c = ConfigFactory.empty()
                .withValue("iteris.merge.method", ConfigValueFactory.fromAnyRef("iteris"))
                .withValue("iteris.merge.base", ConfigValueFactory.fromAnyRef(model.resolve("base").toString()))
                .withValue("iteris.merge.adapters", ConfigValueFactory.fromIterable(adapters))
                .withValue("iteris.merge.calibration", ConfigValueFactory.fromAnyRef(model.resolve("calibration.safetensors").toString()))
                .withValue("iteris.merge.out", ConfigValueFactory.fromAnyRef(out.toString()))
                .withValue("iteris.merge.overwrite", ConfigValueFactory.fromAnyRef(true))
                .withValue("iteris.merge.precision", ConfigValueFactory.fromAnyRef("float32"))
                .withValue("iteris.merge.shard-size", ConfigValueFactory.fromAnyRef(plan.samples() / plan.shardsPerTask()))
                .withValue("iteris.methods.iteris.iterations", ConfigValueFactory.fromAnyRef(plan.iterations()));
        return MergeSettings.from(c.withFallback(ConfigFactory.load()));
    }
}
