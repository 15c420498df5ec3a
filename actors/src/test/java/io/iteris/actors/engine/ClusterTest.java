package io.iteris.actors.engine;

import com.google.protobuf.Message;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.cluster.IterisNode;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.stream.ChunkAssembler;
import io.iteris.actors.stream.StatisticStreams;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.vectors.E2eCase;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKind;
import io.iteris.protocol.WorkUnitAssigned;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Several ActorSystems on 127.0.0.1 forming one cluster. */
class ClusterTest {
    @TempDir
    Path tmp;

    @Test
    void threeNodesMergeTogetherWithSolversAndWorkSpreadOverNodes() throws Exception {
        E2eCase e2e = E2eCase.open(TestData.vectors("e2e_mlp_feedback"));
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
                    reply -> new GetClusterShardingStats(LayerSolver.TYPE_KEY, Duration.ofSeconds(5), reply),
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

    @Test
    void a64MebibyteStatisticCrossesNodesInChunks() throws Exception {
        int p1 = Nodes.freePort();
        try (IterisNode a = Nodes.start(p1, p1, tmp.resolve("a"), 0, "", Map.of("iteris.engine.roles", List.of("supervisor")));
             IterisNode b = Nodes.start(Nodes.freePort(), p1, tmp.resolve("b"), 0, "", Map.of("iteris.engine.roles", List.of("supervisor")))) {
            Nodes.awaitUp(Duration.ofSeconds(60), a, b);
            int dim = 2896; // 2896² float64 = 64 MiB
            INDArray m = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.DOUBLE, dim, dim);
            CompletableFuture<INDArray> received = new CompletableFuture<>();
            ActorRef<Message> receiver = b.system().systemActorOf(receiver(received), "receiver", Props.empty());
            String receiverRef = ActorRefResolver.get(b.system()).toSerializationFormat(receiver);
            CompletableFuture<Long> sent = new CompletableFuture<>();
            long t0 = System.nanoTime();
            a.system().systemActorOf(sender(m, receiverRef, sent), "sender", Props.empty());
            INDArray got = received.get(120, TimeUnit.SECONDS);
            long bytes = sent.get(30, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals((long) dim * dim * 8, bytes);
            assertEquals(0, Arrays.compare(Matrices.toArray(m), Matrices.toArray(got)), "the statistic arrives bit for bit");
            System.out.printf("64 MiB statistic between two nodes in 1 MiB chunks: %.2f s, %.0f MiB/s%n", seconds, bytes / seconds / (1 << 20));
        }
    }

    private static Behavior<Message> receiver(CompletableFuture<INDArray> done) {
        return Behaviors.setup(ctx -> {
            ActorRefResolver refs = ActorRefResolver.get(ctx.getSystem());
            ChunkAssembler[] assembler = new ChunkAssembler[1];
            return Behaviors.receive(Message.class).onMessage(StatisticChunk.class, c -> {
                if (assembler[0] == null) {
                    assembler[0] = new ChunkAssembler(c);
                }
                boolean ok = assembler[0].accept(c);
                refs.<Message>resolveActorRef(c.getReplyTo()).tell(ChunkAck.newBuilder().setChunkIndex(c.getChunkIndex()).setAccepted(ok).build());
                if (assembler[0].complete() && !done.isDone()) {
                    done.complete(assembler[0].matrix());
                }
                return Behaviors.same();
            }).build();
        });
    }

    /** Streams with the workers' flow control: at most 8 chunks unacknowledged. */
    private static Behavior<Message> sender(INDArray m, String to, CompletableFuture<Long> done) {
        return Behaviors.setup(ctx -> {
            ActorRefResolver refs = ActorRefResolver.get(ctx.getSystem());
            ActorRef<Message> target = refs.resolveActorRef(to);
            String self = refs.toSerializationFormat(ctx.getSelf());
            ArrayDeque<StatisticChunk> pending = new ArrayDeque<>(StatisticStreams.chunks("t",
                    StatisticStreams.key("big", 0, 0, 0, StatisticKind.STATISTIC_G), m, 1, 1 << 20, self));
            long total = pending.stream().mapToLong(c -> c.getData().size()).sum();
            int[] inFlight = {0};
            Runnable fill = () -> {
                while (inFlight[0] < 8 && !pending.isEmpty()) {
                    target.tell(pending.poll());
                    inFlight[0]++;
                }
            };
            fill.run();
            return Behaviors.receive(Message.class).onMessage(ChunkAck.class, ack -> {
                inFlight[0]--;
                fill.run();
                if (pending.isEmpty() && inFlight[0] == 0) {
                    done.complete(total);
                }
                return Behaviors.same();
            }).build();
        });
    }
}
