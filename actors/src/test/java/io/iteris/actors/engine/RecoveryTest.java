package io.iteris.actors.engine;

import com.google.protobuf.Message;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.node.IterisNode;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.vectors.E2eCase;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobResumed;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A job whose every node crashes mid-run resumes from its journal on a new node: the iterations completed
 * before are not redone, none is lost, and the result is bit-identical to an uninterrupted run. The crash is
 * triggered by the journal's own event stream (the third completed iteration), not by polling.
 */
class RecoveryTest {
    static final int ITERATIONS = 24;

    @TempDir
    Path tmp;

    @Test
    void resumesFromTheH2Journal() throws Exception {
        resumeAfterNodeLoss("");
    }

    @Test
    @EnabledIfEnvironmentVariable(named = "ITERIS_TEST_POSTGRES_URL", matches = "jdbc:postgresql:.*")
    void resumesFromThePostgresJournal() throws Exception {
        resumeAfterNodeLoss(System.getenv("ITERIS_TEST_POSTGRES_URL"));
    }

    private void resumeAfterNodeLoss(String journal) throws Exception {
        E2eCase e2e = E2eCase.open(io.iteris.core.TestVectors.of("e2e_mlp_feedback"));
        var settings = e2e.settings("iteris", Map.of("iterations", ITERATIONS, "alpha_1", 1e-4, "alpha_2", 1e-4),
                null, 2, tmp.resolve("out"));
        MergeOutcome expected = MergeEngine.LOCAL.merge(settings, null);
        Merger.LoadedJob job = Merger.load(settings);
        String jobId = ActorEngine.newJobId();
        Path work = tmp.resolve("work");

        int port = Nodes.freePort();
        // snapshots every few events: the second node recovers the job from a snapshot in the journal's database
        Map<String, Object> snapshots = Map.of("iteris.engine.snapshot-every", 7);
        Map<String, Object> crashable = new HashMap<>(Nodes.CRASHABLE);
        crashable.putAll(snapshots);
        IterisNode first = Nodes.start(port, port, work, 2, journal, crashable);
        first.awaitUp(Duration.ofSeconds(30));
        CompletableFuture<Integer> crashed = new CompletableFuture<>();
        int[] completedSoFar = {0};
        JobHistory.follow(first.system(), jobId).runForeach(e -> {
            if (e.event() instanceof IterationCompleted && ++completedSoFar[0] == 3 && !crashed.isDone()) {
                Nodes.crash(first);
                crashed.complete(completedSoFar[0]);
            }
        }, first.system());
        CompletableFuture.runAsync(() -> {
            try {
                new ActorEngine(first, p -> { }, Duration.ofMinutes(2)).submit(job, jobId, null);
            } catch (RuntimeException expectedWhenTheNodeGoes) {
                // the node is taken down under it
            }
        });
        crashed.get(60, TimeUnit.SECONDS);

        int port2 = Nodes.freePort();
        try (IterisNode second = Nodes.start(port2, port2, work, 2, journal, snapshots)) {
            second.awaitUp(Duration.ofSeconds(30));
            MergeOutcome got = new ActorEngine(second).submit(job, jobId, null).outcome();
            for (String layer : expected.deltas().keySet()) {
                assertArrayEquals(Matrices.toArray(expected.deltas().get(layer)), Matrices.toArray(got.deltas().get(layer)), layer);
            }
            Map<Integer, Integer> started = new HashMap<>();
            Map<Integer, Integer> completed = new HashMap<>();
            int jobsCompleted = 0;
            int reached = -1;
            for (EventEnvelope e : JobHistory.events(second.system(), jobId)) {
                Message m = (Message) e.event();
                if (m instanceof IterationStarted s) {
                    started.merge(s.getIteration(), 1, Integer::sum);
                } else if (m instanceof IterationCompleted c) {
                    completed.merge(c.getIteration(), 1, Integer::sum);
                } else if (m instanceof JobResumed r && reached < 0) {
                    reached = r.getIteration();
                } else if (m instanceof JobCompleted) {
                    jobsCompleted++;
                }
            }
            assertTrue(reached >= 3 && reached < ITERATIONS, "the first node crashed mid-job, and the job resumed after " + reached + " iterations");
            for (int k = 0; k < ITERATIONS; k++) {
                assertEquals(1, started.getOrDefault(k, 0), "iteration " + (k + 1) + " started once");
                assertEquals(1, completed.getOrDefault(k, 0), "iteration " + (k + 1) + " completed once");
            }
            assertEquals(1, jobsCompleted);
        }
    }
}
