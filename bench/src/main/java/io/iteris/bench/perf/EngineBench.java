package io.iteris.bench.perf;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.node.IterisNode;
import io.iteris.bench.data.ImageTasks;
import io.iteris.core.engine.Merger;
import io.iteris.bench.ExampleJobs;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * {@code bench engine}: the shipped five-task Fashion-MNIST merge (IterIS, 64 calibration images per task in
 * shards of 16, so 20 work units per iteration) on the actor engine — a node in this JVM with two
 * inference workers, journal and checkpoints on disk — against {@code --engine local} on the same inputs.
 * Both publish the adapter; node start-up is not counted.
 */
final class EngineBench {
    private EngineBench() {
    }

    static ResultTable run(Path example, Path dir, int iterations, int reps, PrintStream log) {
        Path calibration = ImageTasks.load(example.resolve("data")).writeCalibration(dir.resolve("calibration.safetensors"), 64);
        Merger.LoadedJob job = Merger.load(ExampleJobs.settings(example, calibration, dir.resolve("out"), iterations));
        ResultTable t = new ResultTable("engine", "layers", "units_per_iteration", "solves", "median_ms", "reference_ms", "ratio");
        double local = Measure.medianMillis(1, reps, () -> Merger.run(job, 0, null));
        log.printf("  local engine: %.0f ms%n", local);
        try (IterisNode node = IterisNode.start(ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.canonical.port", 0,
                "iteris.engine.workers-per-node", 2,
                "iteris.engine.work-dir", dir.resolve("node").toString())))) {
            node.awaitUp(Duration.ofSeconds(60));
            ActorEngine engine = new ActorEngine(node, p -> { }, Duration.ofHours(1));
            double actor = Measure.medianMillis(1, reps, () -> engine.submit(job, ActorEngine.newJobId(), null));
            log.printf("  actor engine: %.0f ms%n", actor);
            int units = job.samples().size() * (int) Math.ceil(job.samples().get(0).size(0) / (double) job.settings().shardSize());
            t.add("actor engine (1 node with 2 workers) vs local", job.inputs().layers().size(), units, job.solves(), actor, local, actor / local);
        }
        return t;
    }

}
