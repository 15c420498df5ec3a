package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.Entities;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.node.NodeAgent;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.worker.InferenceWorker;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.ReassignCause;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnit;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitFailed;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The supervisor itself, run by Pekko's {@link EventSourcedBehaviorTestKit} against the in-memory journal on a one-node
 * cluster whose workers, solvers and node agent are probes: what it journals, what it sends, and how it comes back
 * from its journal. The journal must hold the Protobuf messages alone, as journals written before the typed events do.
 */
class MergeSupervisorTest {
    static ActorTestKit kit;
    static EngineSettings settings;
    // each test's own: a worker listed for one test is not for the next
    static volatile TestProbe<LayerSolver.Command> solvers;
    TestProbe<InferenceWorker.Command> w1;
    TestProbe<InferenceWorker.Command> w2;
    TestProbe<NodeAgent.Command> agent;

    @BeforeAll
    static void setUp() {
        Config config = ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0")
                .withFallback(EventSourcedBehaviorTestKit.config())
                .withFallback(PersistenceTestKitSnapshotPlugin.config())
                .withFallback(ConfigFactory.parseResources("iteris-cluster.conf"))
                .withFallback(ConfigFactory.load());
        kit = ActorTestKit.create("MergeSupervisorTest", config);
        Cluster cluster = Cluster.get(kit.system());
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        // every layer's solver is one probe: what the supervisor asks of solvers, in order
        ClusterSharding.get(kit.system()).init(Entity.of(Entities.SOLVER, ctx -> Behaviors.receiveMessage(m -> {
            solvers.ref().tell(m);
            return Behaviors.same();
        })));
        settings = EngineSettings.from(kit.system().settings().config());
    }

    @BeforeEach
    void listProbes() {
        solvers = kit.createTestProbe();
        w1 = kit.createTestProbe();
        w2 = kit.createTestProbe();
        agent = kit.createTestProbe();
        kit.system().receptionist().tell(Receptionist.register(Entities.WORKERS, w1.ref()));
        kit.system().receptionist().tell(Receptionist.register(Entities.WORKERS, w2.ref()));
        kit.system().receptionist().tell(Receptionist.register(Entities.NODE_AGENTS, agent.ref()));
        // the supervisor must first see this test's workers alone, not the last test's on their way out
        TestProbe<Receptionist.Listing> listings = kit.createTestProbe();
        listings.awaitAssert(Duration.ofSeconds(10), () -> {
            kit.system().receptionist().tell(Receptionist.find(Entities.WORKERS, listings.ref()));
            assertEquals(Set.of(w1.ref(), w2.ref()), listings.receiveMessage().getServiceInstances(Entities.WORKERS));
            kit.system().receptionist().tell(Receptionist.find(Entities.NODE_AGENTS, listings.ref()));
            assertEquals(Set.of(agent.ref()), listings.receiveMessage().getServiceInstances(Entities.NODE_AGENTS));
            return null;
        });
    }

    @AfterEach
    void unlistProbes() {
        kit.system().receptionist().tell(Receptionist.deregister(Entities.WORKERS, w1.ref()));
        kit.system().receptionist().tell(Receptionist.deregister(Entities.WORKERS, w2.ref()));
        kit.system().receptionist().tell(Receptionist.deregister(Entities.NODE_AGENTS, agent.ref()));
    }

    @AfterAll
    static void tearDown() {
        kit.shutdownTestKit();
    }

    static JobSpec spec(String jobId) {
        return JobSpec.newBuilder().setJobId(jobId).setMethod("iteris").setMethodConfig("iteris.iterations = 1").setIterations(1).addLayers("a").addLayers("b")
                .addShardsPerTask(1).addShardsPerTask(1).build();
    }

    static String name(TestProbe<?> p) {
        return ActorRefResolver.get(kit.system()).toSerializationFormat(p.ref());
    }

    static UnitId unit(int task) {
        return UnitId.newBuilder().setIteration(0).setTask(task).setShard(0).build();
    }

    /** The testkit reports events as the journal holds them: Protobuf messages, not {@link SupervisorEvent}s. */
    private static EventSourcedBehaviorTestKit<MergeSupervisor.Command, Message, SupervisorState> supervisor(
            String jobId, List<String> passivated) {
        return supervisor(jobId, passivated, settings);
    }

    /** Commands, journaled messages and the state (as a snapshot) must serialize; the state has no equals of its own. */
    private static EventSourcedBehaviorTestKit<MergeSupervisor.Command, Message, SupervisorState> supervisor(
            String jobId, List<String> passivated, EngineSettings settings) {
        return EventSourcedBehaviorTestKit.create(kit.system(), MergeSupervisor.create(jobId, settings, self -> passivated.add(jobId)),
                EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyEquality(false));
    }

    /** The next {@code expected} units the workers are sent, by unit key. */
    private Map<String, WorkUnit> assignments(int expected) {
        Map<String, WorkUnit> sent = new HashMap<>();
        long deadline = System.currentTimeMillis() + 10_000;
        while (sent.size() < expected && System.currentTimeMillis() < deadline) {
            for (TestProbe<InferenceWorker.Command> w : List.of(w1, w2)) {
                try {
                    WorkUnit u = ((InferenceWorker.Assign) w.receiveMessage(Duration.ofMillis(100))).unit();
                    sent.put(SupervisorState.key(u.getUnit()), u);
                } catch (AssertionError nothingYet) {
                    // the other worker may have it
                }
            }
        }
        assertEquals(expected, sent.size(), "units sent: " + sent.keySet());
        return sent;
    }

    /** Solver messages of one kind, until {@code n} arrived (others, such as introductions, are passed over). */
    private static <T> List<T> fromSolvers(Class<T> kind, int n) {
        List<T> out = new ArrayList<>();
        while (out.size() < n) {
            LayerSolver.Command c = solvers.receiveMessage(Duration.ofSeconds(10));
            if (kind.isInstance(c)) {
                out.add(kind.cast(c));
            }
        }
        return out;
    }

    @Test
    void aFailingUnitIsReassignedUntilItsThirdFailureFailsTheJobAndEveryNodeHearsTheEnd() {
        List<String> passivated = new CopyOnWriteArrayList<>();
        var esb = supervisor("esb-fail", passivated);
        TestProbe<JobProgress> watcher = kit.createTestProbe();
        var accepted = esb.runCommand(new MergeSupervisor.Submit(spec("esb-fail"), Optional.of(watcher.ref())));
        assertInstanceOf(JobAccepted.class, accepted.events().get(0), "the journal holds the Protobuf message itself");
        assertTrue(accepted.state().running());
        assertEquals(Set.of("a", "b"), new TreeSet<>(fromSolvers(LayerSolver.Introduce.class, 2).stream()
                .map(i -> i.job().getLayer()).toList()), "each solver hears of the job before any statistics");

        Map<String, WorkUnit> sent = assignments(2);
        assertEquals(Set.of("0/0/0", "0/1/0"), sent.keySet(), "both units went to workers");
        String worker = esb.getState().units().get("0/1/0").worker();
        for (int attempt = 1; attempt < UnitRetries.MAX_FAILURES; attempt++) {
            var r = esb.runCommand(new MergeSupervisor.UnitFailed(WorkUnitFailed.newBuilder().setJobId("esb-fail").setUnit(unit(1))
                    .setWorker(worker).setReason("boom").build()));
            assertEquals(ReassignCause.CAUSE_FAILED, ((WorkUnitReassigned) r.events().get(0)).getCause());
            assertInstanceOf(WorkUnitAssigned.class, r.events().get(1));
            WorkUnit again = assignments(1).get("0/1/0");
            assertEquals(attempt + 1, again.getAttempt(), "the unit is sent again, as its next attempt");
            worker = r.state().units().get("0/1/0").worker();
        }
        var fatal = esb.runCommand(new MergeSupervisor.UnitFailed(WorkUnitFailed.newBuilder().setJobId("esb-fail").setUnit(unit(1))
                .setWorker(worker).setReason("boom").build()));
        JobFailed failed = fatal.eventOfType(JobFailed.class);
        assertTrue(failed.getReason().contains("failed 3 times: boom"), failed.getReason());
        assertEquals(SupervisorState.Status.FAILED, fatal.state().status());
        assertInstanceOf(NodeAgent.EndJob.class, agent.receiveMessage(Duration.ofSeconds(10)), "the node drops the job");
        assertEquals(2, fromSolvers(LayerSolver.EndJob.class, 2).size(), "so does every solver");
        watcher.fishForMessage(Duration.ofSeconds(10), p -> p.getFailed() ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
        assertEquals(List.of("esb-fail"), passivated, "then it asks its shard to stop it for good");
    }

    @Test
    void aRestartedSupervisorRebuildsItsStateFromTheJournalAndPicksUpWhereItStopped() throws InterruptedException {
        List<String> passivated = new CopyOnWriteArrayList<>();
        var esb = supervisor("esb-recover", passivated);
        esb.runCommand(new MergeSupervisor.Submit(spec("esb-recover"), Optional.empty()));
        Map<String, WorkUnit> sent = assignments(2);
        String first = esb.getState().units().get("0/0/0").worker();
        esb.runCommand(new MergeSupervisor.UnitDone(WorkUnitDone.newBuilder().setJobId("esb-recover").setUnit(unit(0))
                .setWorker(first).setInferenceNanos(5).build()));
        SupervisorState before = esb.getState();

        SupervisorState after = esb.restart().state();
        assertEquals(before.units(), after.units(), "the units, their workers and attempts, as journaled");
        assertEquals(before.iteration(), after.iteration());
        // resumed: journaled, and the unit not yet done is sent again (the old incarnation's message may be lost)
        WorkUnit resent = assignments(1).get("0/1/0");
        assertEquals(sent.get("0/1/0").getAttempt(), resent.getAttempt(), "the same attempt, sent again");
        List<Object> journal = esb.persistenceTestKit().persistedInStorage(Entities.supervisorPersistenceId("esb-recover").id());
        assertInstanceOf(JobAccepted.class, journal.get(0), "the journal holds the Protobuf messages themselves");
        assertInstanceOf(IterationStarted.class, journal.get(1));
        assertInstanceOf(JobResumed.class, journal.get(journal.size() - 1));

        var done = esb.runCommand(new MergeSupervisor.UnitDone(WorkUnitDone.newBuilder().setJobId("esb-recover").setUnit(unit(1))
                .setWorker(after.units().get("0/1/0").worker()).build()));
        assertTrue(done.state().allUnitsDone());
        assertEquals(Set.of("a", "b"), new TreeSet<>(fromSolvers(LayerSolver.Solve.class, 2).stream()
                .map(s -> s.request().getLayer()).toList()), "every layer is asked to solve once all units are done");

        esb.runCommand(new MergeSupervisor.Solved(solved("esb-recover", "a")));
        var last = esb.runCommand(new MergeSupervisor.Solved(solved("esb-recover", "b")));
        assertTrue(((IterationCompleted) last.events().get(1)).getLast(), "a one-iteration job: its last solve");
        // publishing runs off the actor; this job's store holds no ΔW, so it fails, and says why
        long deadline = System.currentTimeMillis() + 20_000;
        while (!esb.getState().finished() && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(SupervisorState.Status.FAILED, esb.getState().status());
        assertTrue(esb.getState().outcome().startsWith("publishing the output failed"), esb.getState().outcome());
    }

    @Test
    void aSnapshottedSupervisorRecoversTheSameStateFromItsSnapshotAndTheEventsAfter() {
        EngineSettings often = EngineSettings.from(ConfigFactory.parseString("iteris.engine.snapshot-every = 3")
                .withFallback(kit.system().settings().config()));
        var esb = supervisor("esb-snapshot", new CopyOnWriteArrayList<>(), often);
        esb.runCommand(new MergeSupervisor.Submit(spec("esb-snapshot"), Optional.empty()));
        assignments(2);
        esb.runCommand(new MergeSupervisor.UnitDone(WorkUnitDone.newBuilder().setJobId("esb-snapshot").setUnit(unit(0))
                .setWorker(esb.getState().units().get("0/0/0").worker()).setInferenceNanos(11).build()));
        esb.runCommand(new MergeSupervisor.UnitFailed(WorkUnitFailed.newBuilder().setJobId("esb-snapshot").setUnit(unit(1))
                .setWorker(esb.getState().units().get("0/1/0").worker()).setReason("boom").build()));
        assignments(1);
        SupervisorState before = esb.getState();
        String pid = Entities.supervisorPersistenceId("esb-snapshot").id();
        assertTrue(esb.snapshotTestKit().orElseThrow().persistedInStorage(pid).size() >= 1, "a snapshot was taken");
        assertEquals(7, esb.persistenceTestKit().persistedInStorage(pid).size(), "and every event kept");

        SupervisorState after = esb.restart().state();
        assertEquals(before.units(), after.units(), "units with their workers, attempts and failures");
        assertEquals(before.toSnapshot(), after.toSnapshot(), "every field, as a snapshot would store it");
        assertEquals(11, after.inferenceNanos(0));
        assertEquals(1, after.units().get("0/1/0").failures());
    }

    static LayerSolved solved(String jobId, String layer) {
        return LayerSolved.newBuilder().setJobId(jobId).setLayer(layer).setIteration(0).setContentHash(layer + "0").build();
    }
}
