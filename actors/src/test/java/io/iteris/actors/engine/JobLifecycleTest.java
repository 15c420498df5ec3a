package io.iteris.actors.engine;

import com.google.protobuf.Message;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.client.ClusterNodes;
import io.iteris.actors.client.JobClient;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.node.IterisNode;
import io.iteris.actors.supervisor.SupervisorState;
import io.iteris.core.engine.Merger;
import io.iteris.core.vectors.E2eCase;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.NodeDescription;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A job's life on long-running nodes: when it ends, its supervisor and solvers stop and every node lets go of
 * its inputs; a job whose inputs a node cannot see fails at once, naming the path; a supervisor that keeps
 * failing restarts a bounded number of times, each restart journaled with its error, then fails the job.
 */
class JobLifecycleTest {
    static final ActorTestKit probes = ActorTestKit.create("probes",
            com.typesafe.config.ConfigFactory.parseString("pekko.actor.provider = local"));

    @TempDir
    Path tmp;

    @AfterAll
    static void shutdown() {
        probes.shutdownTestKit();
    }

    private Merger.LoadedJob job(String out) {
        E2eCase e2e = E2eCase.open(io.iteris.core.TestVectors.of("e2e_mlp_feedback"));
        return Merger.load(e2e.iterisSettings("default", 2, tmp.resolve(out)));
    }

    @Test
    void aFinishedJobLeavesNoSupervisorSolverOrCachedInputsOnAnyNode() throws Exception {
        int p1 = Nodes.freePort();
        Path shared = tmp.resolve("shared");
        String journal = "jdbc:h2:file:" + shared.resolve("journal") + ";DB_CLOSE_DELAY=-1";
        // the first job's solves are held back while the test looks at the nodes during the job
        Path slow = Files.createFile(tmp.resolve("slow-solve"));
        Map<String, Object> hold = Map.of("iteris.engine.fault-injection.slow-solve", slow.toString(),
                "iteris.engine.fault-injection.slow-solve-for", "1s");
        try (IterisNode n1 = Nodes.start(p1, p1, shared, 1, journal, hold);
             IterisNode n2 = Nodes.start(Nodes.freePort(), p1, shared, 1, journal, hold);
             IterisNode client = Nodes.start(Nodes.freePort(), p1, shared, 0, journal, Map.of("iteris.engine.roles", List.of()))) {
            Nodes.awaitUp(Duration.ofSeconds(60), n1, n2, client);
            TestProbe<Void> wait = probes.createTestProbe();
            CompletableFuture<Merger.Result> first = CompletableFuture.supplyAsync(() ->
                    new ActorEngine(client, p -> { }, Duration.ofMinutes(2)).submit(job("out-lifecycle-1"), "lifecycle-1", null));
            // the positive control: during the job its supervisor and solvers are counted, and each worker node caches it
            wait.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
                List<NodeDescription> nodes = ClusterNodes.describe(client.system(), false, Duration.ofSeconds(10));
                assertEquals(2, nodes.size(), nodes.toString());
                assertEquals(1, nodes.stream().mapToInt(NodeDescription::getSupervisors).sum(), nodes.toString());
                assertTrue(nodes.stream().mapToInt(NodeDescription::getSolvers).sum() > 0, nodes.toString());
                for (NodeDescription n : nodes) {
                    assertTrue(n.getCachedJobsList().contains("lifecycle-1"), n.toString());
                }
                return null;
            });
            Files.delete(slow);
            first.get(2, TimeUnit.MINUTES);
            new ActorEngine(client, p -> { }, Duration.ofMinutes(2)).submit(job("out-lifecycle-2"), "lifecycle-2", null);
            wait.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
                List<NodeDescription> nodes = ClusterNodes.describe(client.system(), false, Duration.ofSeconds(10));
                assertEquals(2, nodes.size(), nodes.toString());
                for (NodeDescription n : nodes) {
                    assertEquals(0, n.getSupervisors(), n.toString());
                    assertEquals(0, n.getSolvers(), n.toString());
                    // each node's cache is its own (an extension of its actor system), so this is the node's own
                    assertEquals(List.of(), n.getCachedJobsList(), n.toString());
                }
                return null;
            });
        }
    }

    @Test
    void aJobWhoseInputsTheNodeCannotSeeFailsAtOnceNamingThePath() {
        int port = Nodes.freePort();
        try (IterisNode node = Nodes.start(port, port, tmp.resolve("work"), 1, "", Map.of())) {
            node.awaitUp(Duration.ofSeconds(30));
            JobSpec spec = JobSpecs.of("unseen", job("out-unseen"), node.storeDir()).toBuilder()
                    .setBasePath("/nowhere/base_model.safetensors").build();
            JobProgress last = JobClient.run(node.system(), spec, p -> { }, Duration.ofSeconds(30));
            assertTrue(last.getFailed(), last.toString());
            assertTrue(last.getMessage().contains("cannot see the base model at /nowhere/base_model.safetensors")
                    && last.getMessage().contains(node.system().address().toString()), last.getMessage());
            assertTrue(Files.notExists(tmp.resolve("out-unseen")));
        }
    }

    @Test
    void aSupervisorThatKeepsFailingRestartsABoundedNumberOfTimesThenFailsTheJobWithTheLastError() throws Exception {
        Path fault = Files.writeString(tmp.resolve("supervisor-error"), "armed\n");
        int port = Nodes.freePort();
        try (IterisNode node = Nodes.start(port, port, tmp.resolve("work"), 1, "", Map.of(
                "iteris.engine.fault-injection.supervisor-error", fault.toString(),
                "iteris.engine.max-supervisor-restarts", 2,
                "iteris.engine.supervisor-restart-backoff.min", "50ms",
                "iteris.engine.supervisor-restart-backoff.max", "200ms"))) {
            node.awaitUp(Duration.ofSeconds(30));
            JobSpec spec = JobSpecs.of("failing", job("out-failing"), node.storeDir());
            JobProgress last = JobClient.run(node.system(), spec, p -> { }, Duration.ofSeconds(60));
            assertTrue(last.getFailed(), last.toString());
            assertTrue(last.getMessage().contains("the supervisor failed 3 times") && last.getMessage().contains("injected fault"),
                    last.getMessage());
            int journaled = 0;
            for (EventEnvelope e : JobHistory.events(node.system(), "failing")) {
                if ((Message) e.event() instanceof JobResumed r && r.getError().contains("injected fault")) {
                    journaled++;
                }
            }
            assertEquals(3, journaled, "every restart after the error is in the journal, with its error");
            SupervisorState s = JobHistory.replay(node.system(), "failing");
            assertEquals(SupervisorState.Status.FAILED, s.status());
        }
    }
}
