package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import com.typesafe.config.ConfigFactory;
import io.iteris.core.engine.IterationPolicy;
import io.iteris.core.merge.MergeMethods;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.ReassignCause;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import io.iteris.protocol.WorkUnitReassigned;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The supervisor's decisions as functions of the journal's state and a command, without a cluster: assignment,
 * reassignment, the retry limit, an iteration's completion and the next one's start, the last solve, recovery.
 */
class DecideTest {
    static final List<String> WORKERS = List.of("w1", "w2");
    static final JobSpec SPEC = JobSpec.newBuilder().setJobId("j").setMethod("iteris").setIterations(2)
            .addLayers("a").addLayers("b").addShardsPerTask(1).addShardsPerTask(1).build();
    static final IterationPolicy POLICY = new IterationPolicy(MergeMethods.create("iteris", ConfigFactory.parseMap(Map.of(
            "iteris.methods.iteris.iterations", 2)).withFallback(ConfigFactory.load())));

    private static SupervisorState started() {
        SupervisorState s = new SupervisorState();
        WorkPlan.accept(SPEC, null, WORKERS).forEach(s::apply);
        return s;
    }

    private static UnitId unit(int iteration, int task) {
        return UnitId.newBuilder().setIteration(iteration).setTask(task).setShard(0).build();
    }

    private static SupervisorState apply(SupervisorState s, Decide.Decision d) {
        d.events().forEach(s::apply);
        return s;
    }

    private static LayerSolved solved(int iteration, String layer, double change) {
        return LayerSolved.newBuilder().setJobId("j").setLayer(layer).setIteration(iteration).setContentHash(layer + iteration)
                .setHasChange(iteration > 0).setRelativeChange(change).build();
    }

    @Test
    void anAcceptedJobAssignsEveryUnitOfItsFirstIterationAcrossTheWorkers() {
        SupervisorState s = started();
        assertEquals(2, s.units().size());
        assertEquals(List.of("w1", "w2"), s.units().values().stream().map(u -> u.worker).sorted().toList(), "one unit each");
    }

    @Test
    void aUnitDoneIsJournaledOnceAndOnlyForTheCurrentIteration() {
        SupervisorState s = started();
        WorkUnitDone done = WorkUnitDone.newBuilder().setUnit(unit(0, 0)).setWorker("w1").build();
        Decide.Decision d = Decide.unitDone(s, done);
        assertInstanceOf(WorkUnitCompleted.class, d.events().get(0));
        apply(s, d);
        assertTrue(Decide.unitDone(s, done).events().isEmpty(), "a repeat changes nothing");
        assertTrue(Decide.unitDone(s, done.toBuilder().setUnit(unit(1, 0)).build()).events().isEmpty(), "another iteration's unit");
    }

    @Test
    void aFailedUnitGoesToAWorkerAgainUntilItsThirdFailureFailsTheJob() {
        SupervisorState s = started();
        WorkUnitFailed failed = WorkUnitFailed.newBuilder().setUnit(unit(0, 1)).setWorker("w2").setReason("boom").build();
        for (int i = 0; i < UnitRetries.MAX_FAILURES - 1; i++) {
            Decide.Decision d = Decide.unitFailed(s, failed, WORKERS);
            WorkUnitReassigned r = (WorkUnitReassigned) d.events().get(0);
            assertEquals(ReassignCause.CAUSE_FAILED, r.getCause());
            assertInstanceOf(WorkUnitAssigned.class, d.events().get(1), "and assigned anew");
            apply(s, d);
        }
        Decide.Decision last = Decide.unitFailed(s, failed, WORKERS);
        assertNotNull(last.failure());
        assertTrue(last.failure().contains("failed 3 times: boom"), last.failure());
    }

    @Test
    void statisticsASolverLacksAreComputedAgainForDoneUnitsOfTheCurrentIterationOnly() {
        SupervisorState s = started();
        apply(s, Decide.unitDone(s, WorkUnitDone.newBuilder().setUnit(unit(0, 0)).setWorker("w1").build()));
        MissingStatistics missing = MissingStatistics.newBuilder().setLayer("a").setIteration(0)
                .addMissing(MissingUnit.newBuilder().setUnit(unit(0, 0)).setIncludeG(true))
                .addMissing(MissingUnit.newBuilder().setUnit(unit(0, 1)).setIncludeG(true)).build();
        Decide.Decision d = Decide.missing(s, missing, WORKERS);
        List<Message> reassigned = d.events().stream().filter(e -> e instanceof WorkUnitReassigned).toList();
        assertEquals(1, reassigned.size(), "the unit still running will send its statistics anyway: " + d.events());
        assertEquals(ReassignCause.CAUSE_REFILL, ((WorkUnitReassigned) reassigned.get(0)).getCause());
        assertTrue(Decide.missing(s, missing.toBuilder().setIteration(1).build(), WORKERS).events().isEmpty());
    }

    @Test
    void theLastLayerOfAnIterationCompletesItAndStartsTheNextUntilTheLastSolve() {
        SupervisorState s = started();
        Decide.Decision first = Decide.layerSolved(s, solved(0, "a", 0), POLICY, WORKERS);
        assertEquals(1, first.events().size());
        assertInstanceOf(LayerSolvedRecorded.class, first.events().get(0));
        apply(s, first);
        assertTrue(Decide.layerSolved(s, solved(0, "a", 0), POLICY, WORKERS).events().isEmpty(), "a repeated answer");

        Decide.Decision completing = Decide.layerSolved(s, solved(0, "b", 0), POLICY, WORKERS);
        IterationCompleted done = (IterationCompleted) completing.events().get(1);
        assertFalse(done.getLast());
        assertEquals(Map.of("a", "a0", "b", "b0"), done.getLayerHashesMap());
        IterationStarted next = (IterationStarted) completing.events().get(2);
        assertEquals(1, next.getIteration());
        assertEquals(done.getLayerHashesMap(), next.getWeightsMap(), "the next iteration runs the merged weights");
        assertEquals(2, completing.events().stream().filter(e -> e instanceof WorkUnitAssigned).count());
        apply(s, completing);

        apply(s, Decide.layerSolved(s, solved(1, "a", 0.3), POLICY, WORKERS));
        Decide.Decision end = Decide.layerSolved(s, solved(1, "b", 0.2), POLICY, WORKERS);
        IterationCompleted last = (IterationCompleted) end.events().get(end.events().size() - 1);
        assertTrue(last.getLast(), "the method's last solve");
        assertEquals(0.3, last.getMaxRelativeChange());
    }

    @Test
    void aRecoveryIsJournaledAndTooManyRestartsAfterErrorsFailTheJob() {
        SupervisorState s = started();
        Decide.Decision lost = Decide.resumed(s, "", "node-2", 1, 5);
        assertEquals(1, lost.events().size(), "the loss of a node is no error of ours");
        assertInstanceOf(JobResumed.class, lost.events().get(0));
        apply(s, Decide.resumed(s, "IllegalStateException: x", "node-2", 1, 6));
        Decide.Decision second = Decide.resumed(s, "IllegalStateException: y", "node-2", 1, 7);
        JobFailed failed = (JobFailed) second.events().get(1);
        assertTrue(failed.getReason().contains("failed 2 times") && failed.getReason().contains("y"), failed.getReason());
    }

    @Test
    void aCopyOfTheStateIsIndependentOfTheLiveOne() {
        SupervisorState live = started();
        SupervisorState copy = live.copy();
        apply(copy, Decide.unitDone(copy, WorkUnitDone.newBuilder().setUnit(unit(0, 0)).setWorker("w1").build()));
        copy.apply(LayerSolvedRecorded.newBuilder().setResult(solved(0, "a", 0)).build());
        assertTrue(copy.units().get(SupervisorState.key(unit(0, 0))).done);
        assertFalse(live.units().get(SupervisorState.key(unit(0, 0))).done, "the live unit is untouched");
        assertTrue(live.solved().isEmpty() && live.history().isEmpty(), "and so are its solves");
        assertEquals(live.units().get(SupervisorState.key(unit(0, 0))).attempt, copy.units().get(SupervisorState.key(unit(0, 0))).attempt);
    }
}
