package io.iteris.actors.engine;

import io.iteris.actors.Entities;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.node.IterisNode;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.vectors.E2eCase;
import io.iteris.protocol.WorkUnitAssigned;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Several ActorSystems on 127.0.0.1 forming one cluster. */
class ClusterTest {
    @TempDir
    Path tmp;

    @Test
    void threeNodesMergeTogetherWithSolversAndWorkSpreadOverNodes() throws Exception {
        E2eCase e2e = E2eCase.open(io.iteris.core.TestVectors.of("e2e_mlp_feedback"));
        MergeOutcome expected = MergeEngine.LOCAL.merge(e2e.iterisSettings("default", 2, tmp.resolve("local")), null);
        int p1 = Nodes.freePort();
        Path shared = tmp.resolve("shared");
        String journal = "jdbc:h2:file:" + shared.resolve("journal") + ";DB_CLOSE_DELAY=-1";
        try (IterisNode n1 = Nodes.start(p1, p1, shared, 1, journal, Map.of());
             IterisNode n2 = Nodes.start(Nodes.freePort(), p1, shared, 1, journal, Map.of());
             IterisNode n3 = Nodes.start(Nodes.freePort(), p1, shared, 1, journal, Map.of())) {
            Nodes.awaitUp(Duration.ofSeconds(60), n1, n2, n3);
            String jobId = ActorEngine.newJobId();
            Merger.LoadedJob job = Merger.load(e2e.iterisSettings("default", 2, tmp.resolve("out")));
            MergeOutcome got = new ActorEngine(n3).submit(job, jobId, null).outcome();
            for (String layer : expected.deltas().keySet()) {
                assertArrayEquals(Matrices.toArray(expected.deltas().get(layer)), Matrices.toArray(got.deltas().get(layer)), layer);
            }
            ShardRegion.ClusterShardingStats stats = AskPattern.<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery, ShardRegion.ClusterShardingStats>ask(
                    ClusterSharding.get(n1.system()).shardState(),
                    reply -> new GetClusterShardingStats(Entities.SOLVER, Duration.ofSeconds(5), reply),
                    Duration.ofSeconds(10), n1.system().scheduler()).toCompletableFuture().get(15, TimeUnit.SECONDS);
            long hosting = stats.getRegions().values().stream().filter(r -> !r.getStats().isEmpty()).count();
            assertTrue(hosting >= 2, "layer solvers live on " + hosting + " node(s): " + stats.getRegions());
            Set<String> workerNodes = new HashSet<>();
            for (EventEnvelope e : JobHistory.events(n1.system(), jobId)) {
                if (e.event() instanceof WorkUnitAssigned a) {
                    workerNodes.add(a.getWorker().replaceAll("/user/.*", ""));
                }
            }
            assertTrue(workerNodes.size() >= 2, "units ran on " + workerNodes);
        }
    }
}
