package io.iteris.actors.solver;

import io.iteris.actors.Entities;
import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.stream.ChunkSender;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.actors.stream.StatisticStreams;
import io.iteris.core.engine.IterationReport;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.Merger;
import io.iteris.core.engine.ShardInference;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.store.CheckpointStore;
import io.iteris.core.vectors.E2eCase;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.DescribeLayer;
import io.iteris.protocol.JobEnded;
import io.iteris.protocol.SolverJob;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.SolveLayer;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKind;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A layer solver fed by hand: contributions duplicated, out of order, corrupted or stale are each used once
 * or not at all, and the result is the content hash the local engine's ΔW has.
 */
class LayerSolverTest {
    static final String LAYER = "layers.1.proj";
    static ActorTestKit kit;
    @TempDir
    static Path tmp;
    static E2eCase e2e;
    static JobSpec spec;
    static ShardInference inference;
    static List<Map<String, INDArray>> localDeltas = new ArrayList<>();

    @BeforeAll
    static void setUp() {
        kit = ActorTestKit.create(ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0")
                .withFallback(ConfigFactory.parseResources("iteris-cluster.conf")));
        e2e = E2eCase.open(Path.of("..", "core", "src", "test", "resources", "vectors", "e2e_mlp_feedforward").toAbsolutePath().normalize());
        var settings = e2e.iterisSettings("default", 2, tmp.resolve("out"));
        Merger.LoadedJob job = Merger.load(settings);
        spec = JobSpecs.of("solver-test", job, tmp.resolve("store"));
        inference = new ShardInference(job.inputs(), job.runner(), job.samples(), 2);
        MergeEngine.LOCAL.merge(settings, (IterationReport r, Map<String, INDArray> m) -> localDeltas.add(m));
    }

    @AfterAll
    static void tearDown() {
        kit.shutdownTestKit();
    }

    private static String ref(ActorRef<?> r) {
        return ActorRefResolver.get(kit.system()).toSerializationFormat(r);
    }

    /** Every chunk of every shard's statistics of one iteration for LAYER, in small chunks. */
    private static List<LayerSolver.Chunk> chunks(int iteration, Map<String, INDArray> merged, ActorRef<ChunkSender.Command> replyTo) {
        List<LayerSolver.Chunk> out = new ArrayList<>();
        for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
            for (int s = 0; s < spec.getShardsPerTask(t); s++) {
                GramStatistics g = inference.statistics(t, s, merged, false).get(LAYER);
                List<StatisticKind> kinds = iteration == 0 ? List.of(StatisticKind.STATISTIC_G)
                        : List.of(StatisticKind.STATISTIC_C, StatisticKind.STATISTIC_H);
                for (StatisticKind k : kinds) {
                    INDArray m = k == StatisticKind.STATISTIC_G ? g.g() : k == StatisticKind.STATISTIC_C ? g.c() : g.h();
                    for (StatisticChunk c : StatisticStreams.chunks(spec.getJobId(), StatisticStreams.key(LAYER, iteration, t, s, k), m, g.rows(), 2048)) {
                        out.add(new LayerSolver.Chunk(c, replyTo));
                    }
                }
            }
        }
        return out;
    }

    private static LayerSolver.Chunk with(LayerSolver.Chunk c, StatisticChunk changed) {
        return new LayerSolver.Chunk(changed, c.replyTo());
    }

    /** The next acknowledgement a sender's probe received. */
    private static ChunkAck ack(TestProbe<ChunkSender.Command> sender) {
        return sender.expectMessageClass(ChunkSender.Ack.class).ack();
    }

    @Test
    void duplicatedShuffledCorruptedAndStaleContributionsAreEachHandled() {
        TestProbe<MergeSupervisor.Command> supervisor = kit.createTestProbe(MergeSupervisor.Command.class);
        ActorRef<LayerSolver.Command> solver = kit.spawn(LayerSolver.create(Entities.solverId(spec.getJobId(), LAYER), supervisor.getRef()::tell, self -> { },
                LayerSolver.IDLE_CHECK));
        TestProbe<MergeSupervisor.Command> probe = kit.createTestProbe(MergeSupervisor.Command.class);
        Optional<ActorRef<MergeSupervisor.Command>> replyTo = Optional.of(probe.getRef());
        TestProbe<ChunkSender.Command> acks = kit.createTestProbe(ChunkSender.Command.class);
        ActorRef<ChunkSender.Command> ackTo = acks.getRef();
        CheckpointStore store = new CheckpointStore(Path.of(spec.getStorePath()));

        // asked too early, the solver names every unit it lacks, G included
        solver.tell(new LayerSolver.Solve(SolveLayer.newBuilder().setSpec(spec).setLayer(LAYER).setIteration(0).build(), replyTo));
        MissingStatistics missing = probe.expectMessageClass(MergeSupervisor.Missing.class).missing();
        int units = spec.getShardsPerTaskList().stream().mapToInt(Integer::intValue).sum();
        assertEquals(units, missing.getMissingCount());
        assertTrue(missing.getMissing(0).getIncludeG());

        // iteration 0: every chunk twice, in random order; one corrupted copy first
        List<LayerSolver.Chunk> g = chunks(0, null, ackTo);
        List<LayerSolver.Chunk> sent = new ArrayList<>(g);
        sent.addAll(g);
        Collections.shuffle(sent, new Random(7));
        LayerSolver.Chunk corrupt = new LayerSolver.Chunk(g.get(0).chunk().toBuilder()
                .setData(ByteString.copyFrom(new byte[g.get(0).chunk().getData().size()])).build(), ackTo);
        solver.tell(corrupt);
        assertFalse(ack(acks).getAccepted(), "a chunk failing its checksum is refused");
        sent.forEach(solver::tell);
        for (int i = 0; i < sent.size(); i++) {
            assertTrue(ack(acks).getAccepted());
        }
        solver.tell(new LayerSolver.Solve(SolveLayer.newBuilder().setSpec(spec).setLayer(LAYER).setIteration(0).build(), replyTo));
        LayerSolved first = probe.expectMessageClass(MergeSupervisor.Solved.class, Duration.ofSeconds(30)).result();
        assertEquals(store.put(localDeltas.get(0).get(LAYER)), first.getContentHash(), "same bits as the local engine");

        // iteration 1, out of order
        Map<String, INDArray> merged = localDeltas.get(0);
        List<LayerSolver.Chunk> ch = chunks(1, merged, ackTo);
        Collections.reverse(ch);
        ch.forEach(solver::tell);
        acks.receiveSeveralMessages(ch.size());
        solver.tell(new LayerSolver.Solve(SolveLayer.newBuilder().setSpec(spec).setLayer(LAYER).setIteration(1).setPreviousHash(first.getContentHash())
                .build(), replyTo));
        LayerSolved second = probe.expectMessageClass(MergeSupervisor.Solved.class, Duration.ofSeconds(30)).result();
        assertEquals(store.put(localDeltas.get(1).get(LAYER)), second.getContentHash());
        assertTrue(second.getHasChange() && second.getRelativeChange() > 0);

        // a stale contribution for the solved iteration, with other values, changes nothing
        List<LayerSolver.Chunk> stale = chunks(1, localDeltas.get(1), ackTo);
        stale.forEach(solver::tell);
        acks.receiveSeveralMessages(stale.size());
        solver.tell(new LayerSolver.Solve(SolveLayer.newBuilder().setSpec(spec).setLayer(LAYER).setIteration(1).setPreviousHash(first.getContentHash())
                .build(), replyTo));
        assertEquals(second, probe.expectMessageClass(MergeSupervisor.Solved.class).result());
    }

    @Test
    void takesNoStatisticUntilItKnowsItsJobThenOnlyThoseThatFitTheLayerAndThePlan() {
        TestProbe<MergeSupervisor.Command> supervisor = kit.createTestProbe(MergeSupervisor.Command.class);
        TestProbe<ActorRef<LayerSolver.Command>> passivated = kit.createTestProbe();
        ActorRef<LayerSolver.Command> solver = kit.spawn(LayerSolver.create(Entities.solverId(spec.getJobId(), LAYER), supervisor.getRef()::tell,
                passivated.getRef()::tell, Duration.ofMillis(300)));
        DescribeLayer asked = supervisor.expectMessageClass(MergeSupervisor.Describe.class, Duration.ofSeconds(5)).question();
        assertEquals(LAYER, asked.getLayer(), "idle, not knowing its job (as when remember-entities revives it), it asks which job it solves for");
        TestProbe<ChunkSender.Command> worker = kit.createTestProbe(ChunkSender.Command.class);
        List<LayerSolver.Chunk> g = chunks(0, null, worker.getRef());

        solver.tell(g.get(0));
        ChunkAck early = ack(worker);
        assertFalse(early.getAccepted());
        assertTrue(early.getRetryLater(), "a chunk before the job is known: send again later");
        supervisor.expectMessageClass(MergeSupervisor.Describe.class);

        solver.tell(new LayerSolver.Introduce(SolverJob.newBuilder().setSpec(spec).setLayer(LAYER).build()));
        int dim = spec.getLayerInputs(spec.getLayersList().indexOf(LAYER));
        // a statistic announcing another size (here one that would take 2 GiB) is refused before any allocation
        solver.tell(with(g.get(0), g.get(0).chunk().toBuilder().setDim(16383).build()));
        ChunkAck wrongSize = ack(worker);
        assertFalse(wrongSize.getAccepted() || wrongSize.getRetryLater());
        solver.tell(with(g.get(0), g.get(0).chunk().toBuilder().setKey(g.get(0).chunk().getKey().toBuilder().setShard(99)).build()));
        assertFalse(ack(worker).getAccepted(), "a shard outside the job's plan");
        solver.tell(with(g.get(0), g.get(0).chunk().toBuilder().setKey(g.get(0).chunk().getKey().toBuilder()
                .setIteration(spec.getIterations())).build()));
        assertFalse(ack(worker).getAccepted(), "an iteration outside the job's plan");
        assertEquals(dim, g.get(0).chunk().getDim());
        solver.tell(g.get(0));
        assertTrue(ack(worker).getAccepted(), "the right statistic is taken");

        solver.tell(new LayerSolver.EndJob(spec.getJobId()));
        assertEquals(solver, passivated.receiveMessage(), "at the job's end it asks its shard to passivate it");
    }

    /**
     * A solver started by the JobEnded that answers a question about its job (the message restarts a passivated
     * entity) must not ask again: otherwise solver and finished supervisor would wake each other for ever.
     */
    @Test
    void aSolverStartedByTheEndOfItsJobPassivatesWithoutAsking() {
        TestProbe<MergeSupervisor.Command> supervisor = kit.createTestProbe(MergeSupervisor.Command.class);
        TestProbe<ActorRef<LayerSolver.Command>> passivated = kit.createTestProbe();
        ActorRef<LayerSolver.Command> solver = kit.spawn(LayerSolver.create(Entities.solverId(spec.getJobId(), LAYER), supervisor.getRef()::tell,
                passivated.getRef()::tell, Duration.ofMillis(300)));
        solver.tell(new LayerSolver.EndJob(spec.getJobId()));
        assertEquals(solver, passivated.receiveMessage());
        supervisor.expectNoMessage(Duration.ofMillis(600));
    }
}
