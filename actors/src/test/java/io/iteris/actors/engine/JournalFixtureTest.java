package io.iteris.actors.engine;

import io.iteris.actors.Entities;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.node.IterisNode;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.actors.supervisor.SupervisorState;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.store.CheckpointStore;
import io.iteris.protocol.AdapterRef;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerSolvedRecorded;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A journal written before the actors were typed (commit 2073add: {@code bin/iteris merge --config examples/demo/merge.conf
 * --job-id journal-fixture-2073add --workers 2}) still replays: its events decode, its job reads as completed with every
 * solve, each solve's ΔW is the one today's local loop computes bit for bit, and today's supervisor, revived for the job,
 * answers that it completed.
 */
class JournalFixtureTest {
    static final String JOB = "journal-fixture-2073add";
    /** Where the demo example lay when the fixture was written; the test reads the same files from this checkout. */
    static final String RECORDED_AT = "/work/tmp/head/examples/demo";

    @TempDir
    Path tmp;

    @Test
    void aJournalWrittenBeforeTheTypedProtocolsStillReplays() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Files.copy(Path.of("src/test/resources/journal-fixture/journal.mv.db"), work.resolve("journal.mv.db"));
        int port = Nodes.freePort();
        // the fixture's H2 file has the default credentials, whatever a test run sets for its PostgreSQL journal
        try (IterisNode node = Nodes.start(port, port, work, 0, "", Map.of("iteris.engine.journal-user", "",
                "iteris.engine.journal-password", ""))) {
            node.awaitUp(Duration.ofSeconds(30));
            List<EventEnvelope> events = JobHistory.events(node.system(), JOB);
            SupervisorState s = JobHistory.replay(node.system(), JOB);
            assertEquals(SupervisorState.Status.COMPLETED, s.status());
            assertEquals(4, s.completedIterations().size());

            JobSpec recorded = ((JobAccepted) events.get(0).event()).getSpec();
            Map<Integer, Map<String, String>> journaled = new LinkedHashMap<>();
            for (EventEnvelope e : events) {
                if (e.event() instanceof LayerSolvedRecorded l) {
                    journaled.computeIfAbsent(l.getResult().getIteration(), k -> new LinkedHashMap<>())
                            .put(l.getResult().getLayer(), l.getResult().getContentHash());
                }
            }
            CheckpointStore store = new CheckpointStore(tmp.resolve("store"));
            List<Map<String, String>> today = new ArrayList<>();
            MergeEngine.LOCAL.merge(JobSpecs.settings(here(recorded)), (report, merged) -> {
                Map<String, String> hashes = new LinkedHashMap<>();
                for (Map.Entry<String, INDArray> d : merged.entrySet()) {
                    hashes.put(d.getKey(), store.put(d.getValue()));
                }
                today.add(hashes);
            });
            assertEquals(4, today.size());
            for (int it = 0; it < today.size(); it++) {
                assertEquals(today.get(it), journaled.get(it), "iteration " + (it + 1) + ": the journal's ΔW hashes are today's");
            }

            TestProbe<JobProgress> client = TestProbe.create(node.system());
            Entities.tellSupervisor(node.system(), JOB, new MergeSupervisor.Submit(recorded, Optional.of(client.getRef())));
            JobProgress answer = client.expectMessageClass(JobProgress.class, Duration.ofSeconds(30));
            assertTrue(answer.getCompleted(), answer.toString());
        }
    }

    /** The recorded spec with its inputs read from this checkout's copy of the example, and its output somewhere new. */
    private JobSpec here(JobSpec recorded) {
        String demo = Path.of("..", "examples", "demo").toAbsolutePath().normalize().toString();
        JobSpec.Builder b = recorded.toBuilder().setBasePath(recorded.getBasePath().replace(RECORDED_AT, demo))
                .setCalibrationPath(recorded.getCalibrationPath().replace(RECORDED_AT, demo))
                .setModelPath(recorded.getModelPath().replace(RECORDED_AT, demo))
                .setOutputPath(tmp.resolve("out").toString()).setStorePath(tmp.resolve("store").toString());
        b.clearAdapters();
        for (AdapterRef a : recorded.getAdaptersList()) {
            b.addAdapters(a.toBuilder().setPath(a.getPath().replace(RECORDED_AT, demo)));
        }
        return b.build();
    }
}
