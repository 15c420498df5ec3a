package io.iteris.actors.engine;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.node.IterisNode;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.safetensors.SafetensorsFile;
import io.iteris.core.vectors.VectorSuite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The end-to-end golden cases through the actor engine, with 1, 2 and 3 workers, against the local engine. */
class ActorEngineTest {
    @TempDir
    Path tmp;

    static IterisNode node(Path workDir, int workers) {
        IterisNode node = IterisNode.start(ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.canonical.port", 0,
                "iteris.engine.workers-per-node", workers,
                "iteris.engine.work-dir", workDir.toString())));
        node.awaitUp(Duration.ofSeconds(30));
        return node;
    }

    @Test
    void resultsAreByteIdenticalForAnyWorkerCountAndToTheLocalEngine() throws Exception {
        for (String name : List.of("e2e_mlp_feedback", "e2e_mlp_feedforward")) {
            Path local = tmp.resolve("local");
            VectorSuite.CaseCheck reference = VectorSuite.run(io.iteris.core.TestVectors.of(name), local, MergeEngine.LOCAL);
            assertTrue(reference.passed());
            for (int workers = 1; workers <= 3; workers++) {
                Path out = tmp.resolve("actors-" + workers);
                try (IterisNode node = node(tmp.resolve("work-" + workers), workers)) {
                    VectorSuite.CaseCheck check = VectorSuite.run(io.iteris.core.TestVectors.of(name), out, new ActorEngine(node));
                    assertTrue(check.passed(), name + " with " + workers + " workers: " + check);
                }
                for (String file : List.of("result_default.safetensors", "baselines.safetensors")) {
                    assertSameTensors(local.resolve(name).resolve(file), out.resolve(name).resolve(file));
                }
                assertTrue(Files.exists(out.resolve(name).resolve("merged/default/adapter_model.safetensors")),
                        "the supervisor published the adapter");
            }
        }
    }

    @Test
    void projectionsSharingAnInputAreSolvedFromOneSolversStatisticsAndMatchTheLocalEngine() throws Exception {
        io.iteris.core.demo.DemoExample.Shape shape = io.iteris.core.demo.DemoExample.Shape.uniform(2, 16, 3, 2, 8, 3, 3);
        Path ex = tmp.resolve("shared");
        io.iteris.core.demo.DemoExample.generate(ex, shape, 8);
        io.iteris.core.engine.Merger.Result local = io.iteris.core.engine.Merger.run(settings(ex, shape, tmp.resolve("out-local")), null);
        try (IterisNode node = node(tmp.resolve("work-shared"), 2)) {
            io.iteris.core.engine.Merger.LoadedJob job = io.iteris.core.engine.Merger.loadForSubmission(settings(ex, shape, tmp.resolve("out-actors")), true);
            io.iteris.core.engine.Merger.Result actors = new ActorEngine(node).submit(job, "shared-inputs", null);
            assertEquals(6, local.outcome().deltas().size());
            for (String layer : local.outcome().deltas().keySet()) {
                assertArrayEquals(local.outcome().deltas().get(layer).data().asDouble(), actors.outcome().deltas().get(layer).data().asDouble(), layer);
            }
        }
        assertSameTensors(tmp.resolve("out-local/adapter_model.safetensors"), tmp.resolve("out-actors/adapter_model.safetensors"));
    }

    @Test
    void theRivalMethodsMergeOnTheActorEngineExactlyAsInTheLocalLoop() throws Exception {
        io.iteris.core.demo.DemoExample.Shape shape = io.iteris.core.demo.DemoExample.Shape.uniform(3, 12, 3, 2, 8, 3);
        Path ex = tmp.resolve("rivals");
        io.iteris.core.demo.DemoExample.generate(ex, shape, 9);
        try (IterisNode node = node(tmp.resolve("work-rivals"), 2)) {
            for (String method : List.of("regmean_pp", "tsv", "iso_cts", "knots", "wudi", "core_space", "iteris_anchored")) {
                Path localOut = tmp.resolve("local-" + method);
                Path actorOut = tmp.resolve("actors-" + method);
                io.iteris.core.engine.Merger.Result local = io.iteris.core.engine.Merger.run(settings(ex, shape, localOut, method), null);
                io.iteris.core.engine.Merger.Result actors = new ActorEngine(node).submit(
                        io.iteris.core.engine.Merger.loadForSubmission(settings(ex, shape, actorOut, method), true), "rival-" + method, null);
                assertEquals(local.outcome().iterations().size(), actors.outcome().iterations().size(), method + ": solves");
                for (String layer : local.outcome().deltas().keySet()) {
                    assertArrayEquals(local.outcome().deltas().get(layer).data().asDouble(),
                            actors.outcome().deltas().get(layer).data().asDouble(), method + " " + layer);
                }
                assertSameTensors(localOut.resolve("adapter_model.safetensors"), actorOut.resolve("adapter_model.safetensors"));
            }
        }
    }

    private static io.iteris.core.config.MergeSettings settings(Path ex, io.iteris.core.demo.DemoExample.Shape shape, Path out) {
        return settings(ex, shape, out, "iteris");
    }

    static io.iteris.core.config.MergeSettings settings(Path ex, io.iteris.core.demo.DemoExample.Shape shape, Path out, String method) {
        Map<String, Object> m = new java.util.HashMap<>();
        if (method.equals("iteris_anchored")) {
            // IterIS anchored at task arithmetic: the anchor's settings travel with the job as every method's do
            method = "iteris";
            m.put("iteris.methods.iteris.anchor", "task_arithmetic");
            m.put("iteris.methods.iteris.anchor_scale", 0.4);
            m.put("iteris.methods.iteris.anchor_strength", 0.05);
        }
        m.put("iteris.merge.method", method);
        m.put("iteris.merge.base", ex.resolve("base/model.safetensors").toString());
        m.put("iteris.merge.calibration", ex.resolve("calibration.safetensors").toString());
        m.put("iteris.merge.shard-size", 4);
        m.put("iteris.merge.out", out.toString());
        m.put("iteris.methods.iteris.iterations", 3);
        m.put("iteris.merge.adapters", shape.tasks().stream()
                .map(t -> Map.of("name", t, "path", ex.resolve("adapters/" + t).toString())).toList());
        return io.iteris.core.config.MergeSettings.from(ConfigFactory.parseMap(m).withFallback(ConfigFactory.load()));
    }

    static void assertSameTensors(Path a, Path b) {
        SafetensorsFile x = SafetensorsFile.open(a);
        SafetensorsFile y = SafetensorsFile.open(b);
        assertEquals(x.names(), y.names());
        for (String n : x.names()) {
            assertArrayEquals(x.readDoubles(n), y.readDoubles(n), n + " differs between " + a + " and " + b);
        }
    }
}
