package io.iteris.actors.engine;

import io.iteris.actors.Entities;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.node.IterisNode;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.demo.DemoExample;
import io.iteris.core.engine.Merger;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults inside a node that no external kill reaches, injected at fixed points ({@code iteris.engine.fault-injection}):
 * a statistics stream that throws, and a node whose solves take long. Either way the merge completes, bit-identical
 * to the local loop.
 */
class FaultToleranceTest {
    /** Six layers: six solvers, more than the four threads that supervisors and solvers once shared. */
    static final DemoExample.Shape SHAPE = DemoExample.Shape.uniform(6, 12, 2, 2, 8, 3);

    @TempDir
    Path tmp;

    private Path example() {
        Path ex = tmp.resolve("example");
        DemoExample.generate(ex, SHAPE, 11);
        return ex;
    }

    private IterisNode node(Map<String, Object> extra) {
        int port = Nodes.freePort();
        IterisNode node = Nodes.start(port, port, tmp.resolve("work"), 2, "", extra);
        node.awaitUp(Duration.ofSeconds(30));
        return node;
    }

    /**
     * A sender that throws stops without reporting. Its worker watches it: the unit is reported failed at once (well
     * within the ack timeout), the supervisor gives it to a worker again, and the failed worker goes on taking units.
     * Unwatched, the worker would stay busy for good and the unit would wait for the unit timeout (10 minutes).
     */
    @Test
    void aStreamThatThrowsFailsItsUnitWhichIsReassignedAndTheWorkerWorksOn() throws Exception {
        Path ex = example();
        MergeSettings local = ActorEngineTest.settings(ex, SHAPE, tmp.resolve("out-local"), "iteris");
        Merger.Result expected = Merger.run(local, null);
        Path fault = Files.createFile(tmp.resolve("stream-error"));
        try (IterisNode node = node(Map.of("iteris.engine.fault-injection.stream-error", fault.toString()))) {
            String jobId = ActorEngine.newJobId();
            Merger.Result actual = new ActorEngine(node, p -> { }, Duration.ofSeconds(90)).submit(
                    Merger.loadForSubmission(ActorEngineTest.settings(ex, SHAPE, tmp.resolve("out-actors"), "iteris"), true), jobId, null);
            assertFalse(Files.exists(fault), "the fault fired");
            for (String layer : expected.outcome().deltas().keySet()) {
                assertArrayEquals(expected.outcome().deltas().get(layer).data().asDouble(), actual.outcome().deltas().get(layer).data().asDouble(), layer);
            }
            List<EventEnvelope> events = JobHistory.events(node.system(), jobId);
            List<Integer> failed = indexes(events, e -> e instanceof WorkUnitReassigned r && r.getReason().contains("stream failed"));
            assertEquals(1, failed.size(), "one unit failed, for its stream: " + events.stream().map(EventEnvelope::event).toList());
            WorkUnitReassigned r = (WorkUnitReassigned) events.get(failed.get(0)).event();
            long assignedAt = events.stream().filter(e -> e.event() instanceof WorkUnitAssigned a && a.getUnit().equals(r.getUnit())
                    && a.getWorker().equals(r.getFromWorker())).mapToLong(EventEnvelope::timestamp).max().orElseThrow();
            long after = events.get(failed.get(0)).timestamp() - assignedAt;
            assertTrue(after < node.settings().ackTimeout().toMillis(), "reassigned " + after + " ms after it was assigned");
            assertTrue(events.subList(failed.get(0), events.size()).stream().anyMatch(e -> e.event() instanceof WorkUnitCompleted c
                    && c.getWorker().equals(r.getFromWorker())), "the worker whose stream failed completed units afterwards");
        }
    }

    /**
     * While every solve of the first iteration sleeps (six at once, more than the four threads that supervisors and
     * solvers once shared), the job's supervisor still answers within a second, and no unit is taken back for it.
     */
    @Test
    void aNodeBusyWithLongSolvesStillAnswersAndReassignsNothing() throws Exception {
        Path ex = example();
        Merger.Result expected = Merger.run(ActorEngineTest.settings(ex, SHAPE, tmp.resolve("out-local"), "iteris"), null);
        Path fault = Files.createFile(tmp.resolve("slow-solve"));
        try (IterisNode node = node(Map.of("iteris.engine.fault-injection.slow-solve", fault.toString(),
                "iteris.engine.fault-injection.slow-solve-for", "6s",
                "iteris.solve-dispatcher.thread-pool-executor.core-pool-size-min", 6))) {
            String jobId = ActorEngine.newJobId();
            Merger.LoadedJob job = Merger.loadForSubmission(ActorEngineTest.settings(ex, SHAPE, tmp.resolve("out-actors"), "iteris"), true);
            CompletableFuture<Merger.Result> run = CompletableFuture.supplyAsync(
                    () -> new ActorEngine(node, p -> { }, Duration.ofSeconds(120)).submit(job, jobId, null));
            io.iteris.protocol.JobSpec spec = io.iteris.actors.cluster.JobSpecs.of(jobId, job, node.storeDir());
            int units = spec.getShardsPerTaskList().stream().mapToInt(Integer::intValue).sum();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (JobHistory.events(node.system(), jobId).stream().filter(e -> e.event() instanceof WorkUnitCompleted).count() < units) {
                assertTrue(System.nanoTime() < deadline, "the first iteration's units completed");
                Thread.sleep(100);
            }
            // the first iteration's solves are now asleep
            TestProbe<JobProgress> client = TestProbe.create(node.system());
            MergeSupervisor.Submit ask = new MergeSupervisor.Submit(spec, java.util.Optional.of(client.getRef()));
            for (int i = 0; i < 3; i++) {
                Entities.tellSupervisor(node.system(), jobId, ask);
                client.expectMessageClass(JobProgress.class, Duration.ofSeconds(1));
                Thread.sleep(1000);
            }
            Files.delete(fault);
            Merger.Result actual = run.get(120, TimeUnit.SECONDS);
            for (String layer : expected.outcome().deltas().keySet()) {
                assertArrayEquals(expected.outcome().deltas().get(layer).data().asDouble(), actual.outcome().deltas().get(layer).data().asDouble(), layer);
            }
            assertTrue(JobHistory.events(node.system(), jobId).stream().noneMatch(e -> e.event() instanceof WorkUnitReassigned),
                    "no unit was taken back while the solves ran");
        }
    }

    /**
     * While the journal refuses every write, the supervisor stops at its first failed write, backs off, recovers from
     * what the journal holds and resumes once writes succeed again; the journal holds each step once.
     */
    @Test
    void aSupervisorWhoseJournalWritesFailBacksOffAndResumesWithoutDuplicateEvents() throws Exception {
        Path ex = example();
        Merger.Result expected = Merger.run(ActorEngineTest.settings(ex, SHAPE, tmp.resolve("out-local"), "iteris"), null);
        Path outage = tmp.resolve("journal-outage");
        try (IterisNode node = node(Map.of("jdbc-journal.class", FailingJournal.class.getName(),
                "jdbc-journal.fail-while-exists", outage.toString(),
                "iteris.engine.supervisor-restart-backoff.min", "200ms",
                "iteris.engine.supervisor-restart-backoff.max", "1s"))) {
            String jobId = ActorEngine.newJobId();
            Merger.LoadedJob job = Merger.loadForSubmission(ActorEngineTest.settings(ex, SHAPE, tmp.resolve("out-actors"), "iteris"), true);
            CompletableFuture<Merger.Result> run = CompletableFuture.supplyAsync(
                    () -> new ActorEngine(node, p -> { }, Duration.ofSeconds(120)).submit(job, jobId, null));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (JobHistory.events(node.system(), jobId).stream().noneMatch(e -> e.event() instanceof WorkUnitCompleted)) {
                assertTrue(System.nanoTime() < deadline, "a unit completed");
                Thread.sleep(20);
            }
            int before = FailingJournal.REFUSED.get();
            Files.createFile(outage);
            while (FailingJournal.REFUSED.get() < before + 2) {
                assertTrue(System.nanoTime() < deadline, "the supervisor tried to write during the outage, and again after backing off");
                Thread.sleep(20);
            }
            Files.delete(outage);
            Merger.Result actual = run.get(120, TimeUnit.SECONDS);
            for (String layer : expected.outcome().deltas().keySet()) {
                assertArrayEquals(expected.outcome().deltas().get(layer).data().asDouble(), actual.outcome().deltas().get(layer).data().asDouble(), layer);
            }
            List<Object> events = JobHistory.events(node.system(), jobId).stream().map(EventEnvelope::event).toList();
            java.util.Map<String, Long> steps = events.stream().filter(e -> e instanceof io.iteris.protocol.IterationStarted
                            || e instanceof io.iteris.protocol.IterationCompleted || e instanceof io.iteris.protocol.LayerSolvedRecorded
                            || e instanceof WorkUnitCompleted)
                    .collect(java.util.stream.Collectors.groupingBy(FaultToleranceTest::step, java.util.stream.Collectors.counting()));
            assertTrue(steps.values().stream().allMatch(n -> n == 1), "each step once: " + steps);
            int iterations = (int) events.stream().filter(e -> e instanceof io.iteris.protocol.IterationCompleted).count();
            assertEquals(iterations * (SHAPE.dims().length - 1), events.stream().filter(e -> e instanceof io.iteris.protocol.LayerSolvedRecorded).count());
        }
    }

    /** What an event records once in a healthy journal: an iteration's start or end, a layer's solve, a unit's completion. */
    private static String step(Object e) {
        if (e instanceof io.iteris.protocol.IterationStarted s) {
            return "started " + s.getIteration();
        } else if (e instanceof io.iteris.protocol.IterationCompleted c) {
            return "completed " + c.getIteration();
        } else if (e instanceof io.iteris.protocol.LayerSolvedRecorded l) {
            return "solved " + l.getResult().getIteration() + " " + l.getResult().getLayer();
        }
        WorkUnitCompleted u = (WorkUnitCompleted) e;
        return "unit " + u.getUnit().getIteration() + "/" + u.getUnit().getTask() + "/" + u.getUnit().getShard();
    }

    private static List<Integer> indexes(List<EventEnvelope> events, java.util.function.Predicate<Object> p) {
        return java.util.stream.IntStream.range(0, events.size()).filter(i -> p.test(events.get(i).event())).boxed().toList();
    }
}
