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
        return new SupervisorState().applyAll(Decide.submitted(SPEC, null, WORKERS).events());
    }

    /** The message of the decision's {@code i}-th event, as the journal gets it. */
    @SuppressWarnings("unchecked")
    private static <M extends Message> M event(Decide.Decision d, int i) {
        return (M) d.events().get(i).message();
    }

    private static UnitId unit(int iteration, int task) {
        return UnitId.newBuilder().setIteration(iteration).setTask(task).setShard(0).build();
    }

    private static SupervisorState apply(SupervisorState s, Decide.Decision d) {
        return s.applyAll(d.events());
    }

    private static LayerSolved solved(int iteration, String layer, double change) {
        return LayerSolved.newBuilder().setJobId("j").setLayer(layer).setIteration(iteration).setContentHash(layer + iteration)
                .setHasChange(iteration > 0).setRelativeChange(change).build();
    }

    @Test
    void anAcceptedJobAssignsEveryUnitOfItsFirstIterationAcrossTheWorkers() {
        SupervisorState s = started();
        assertEquals(2, s.units().size());
        assertEquals(List.of("w1", "w2"), s.units().values().stream().map(SupervisorState.Unit::worker).sorted().toList(), "one unit each");
        Decide.Decision d = Decide.submitted(SPEC, null, WORKERS);
        assertEquals(List.of(Decide.Step.INTRODUCE_SOLVERS, new Decide.SendUnit("0/0/0"), new Decide.SendUnit("0/1/0")), d.acts(),
                "the solvers hear of the job, each unit goes to its worker");
        Decide.Decision refused = Decide.submitted(SPEC, "cannot see the base model", WORKERS);
        assertInstanceOf(SupervisorEvent.Failed.class, refused.events().get(1));
        assertTrue(refused.acts().isEmpty(), "a refused job introduces no solver: " + refused.acts());
    }

    @Test
    void aUnitDoneIsJournaledOnceAndOnlyForTheCurrentIteration() {
        SupervisorState s = started();
        WorkUnitDone done = WorkUnitDone.newBuilder().setUnit(unit(0, 0)).setWorker("w1").build();
        Decide.Decision d = Decide.unitDone(s, done);
        assertInstanceOf(WorkUnitCompleted.class, event(d, 0));
        assertTrue(d.acts().isEmpty(), "one unit of two: no solve yet");
        s = apply(s, d);
        assertTrue(Decide.unitDone(s, done).events().isEmpty(), "a repeat changes nothing");
        Decide.Decision last = Decide.unitDone(s, done.toBuilder().setUnit(unit(0, 1)).setWorker("w2").build());
        assertEquals(List.of(Decide.Step.REQUEST_SOLVES), last.acts(), "the iteration's last unit asks the solvers");
        assertTrue(Decide.unitDone(s, done.toBuilder().setUnit(unit(1, 0)).build()).events().isEmpty(), "another iteration's unit");
    }

    @Test
    void aFailedUnitGoesToAWorkerAgainUntilItsThirdFailureFailsTheJob() {
        SupervisorState s = started();
        WorkUnitFailed failed = WorkUnitFailed.newBuilder().setUnit(unit(0, 1)).setWorker("w2").setReason("boom").build();
        for (int i = 0; i < UnitRetries.MAX_FAILURES - 1; i++) {
            Decide.Decision d = Decide.unitFailed(s, failed, WORKERS);
            WorkUnitReassigned r = event(d, 0);
            assertEquals(ReassignCause.CAUSE_FAILED, r.getCause());
            WorkUnitAssigned again = event(d, 1);
            assertEquals(List.of(new Decide.SendUnit(SupervisorState.key(again.getUnit()))), d.acts(), "and sent anew");
            s = apply(s, d);
            assertEquals(i + 2, s.units().get(SupervisorState.key(unit(0, 1))).attempt());
        }
        Decide.Decision last = Decide.unitFailed(s, failed, WORKERS);
        assertNotNull(last.failure());
        assertTrue(last.failure().contains("failed 3 times: boom"), last.failure());
    }

    @Test
    void statisticsASolverLacksAreComputedAgainForDoneUnitsOfTheCurrentIterationOnly() {
        SupervisorState s = started();
        s = apply(s, Decide.unitDone(s, WorkUnitDone.newBuilder().setUnit(unit(0, 0)).setWorker("w1").build()));
        MissingStatistics missing = MissingStatistics.newBuilder().setLayer("a").setIteration(0)
                .addMissing(MissingUnit.newBuilder().setUnit(unit(0, 0)).setIncludeG(true))
                .addMissing(MissingUnit.newBuilder().setUnit(unit(0, 1)).setIncludeG(true)).build();
        Decide.Decision d = Decide.missing(s, missing, WORKERS);
        List<SupervisorEvent> reassigned = d.events().stream().filter(e -> e instanceof SupervisorEvent.UnitReassigned).toList();
        assertEquals(1, reassigned.size(), "the unit still running will send its statistics anyway: " + d.events());
        assertEquals(ReassignCause.CAUSE_REFILL, ((WorkUnitReassigned) reassigned.get(0).message()).getCause());
        assertTrue(Decide.missing(s, missing.toBuilder().setIteration(1).build(), WORKERS).events().isEmpty());
    }

    @Test
    void theLastLayerOfAnIterationCompletesItAndStartsTheNextUntilTheLastSolve() {
        SupervisorState s = started();
        Decide.Decision first = Decide.layerSolved(s, solved(0, "a", 0), POLICY, WORKERS);
        assertEquals(1, first.events().size());
        assertInstanceOf(LayerSolvedRecorded.class, event(first, 0));
        s = apply(s, first);
        assertTrue(Decide.layerSolved(s, solved(0, "a", 0), POLICY, WORKERS).events().isEmpty(), "a repeated answer");

        Decide.Decision completing = Decide.layerSolved(s, solved(0, "b", 0), POLICY, WORKERS);
        IterationCompleted done = event(completing, 1);
        assertFalse(done.getLast());
        assertEquals(Map.of("a", "a0", "b", "b0"), done.getLayerHashesMap());
        IterationStarted next = event(completing, 2);
        assertEquals(1, next.getIteration());
        assertEquals(done.getLayerHashesMap(), next.getWeightsMap(), "the next iteration runs the merged weights");
        assertEquals(2, completing.events().stream().filter(e -> e instanceof SupervisorEvent.UnitAssigned).count());
        assertEquals(2, completing.acts().stream().filter(a -> a instanceof Decide.SendUnit).count(), "the new units are sent");
        s = apply(s, completing);

        s = apply(s, Decide.layerSolved(s, solved(1, "a", 0.3), POLICY, WORKERS));
        Decide.Decision end = Decide.layerSolved(s, solved(1, "b", 0.2), POLICY, WORKERS);
        IterationCompleted last = event(end, end.events().size() - 1);
        assertTrue(last.getLast(), "the method's last solve");
        assertEquals(0.3, last.getMaxRelativeChange());
        assertEquals(List.of(Decide.Step.PUBLISH), end.acts(), "then the output is written");
        assertTrue(apply(s, end).publishing());
    }

    @Test
    void aRecoveryIsJournaledAndTooManyRestartsAfterErrorsFailTheJob() {
        SupervisorState s = started();
        Decide.Decision lost = Decide.resumed(s, "", "node-2", 1, 5);
        assertEquals(1, lost.events().size(), "the loss of a node is no error of ours");
        assertInstanceOf(JobResumed.class, event(lost, 0));
        assertEquals(List.of(Decide.Step.INTRODUCE_SOLVERS, Decide.Step.RESEND_UNITS), lost.acts(),
                "the units of the lost incarnation are sent again; no solve is due");
        s = apply(s, Decide.resumed(s, "IllegalStateException: x", "node-2", 1, 6));
        Decide.Decision second = Decide.resumed(s, "IllegalStateException: y", "node-2", 1, 7);
        JobFailed failed = event(second, 1);
        assertTrue(second.acts().isEmpty());
        assertTrue(failed.getReason().contains("failed 2 times") && failed.getReason().contains("y"), failed.getReason());
    }

    @Test
    void anEventLeavesTheStateItWasAppliedToAsItWas() {
        SupervisorState live = started();
        SupervisorState next = apply(live, Decide.unitDone(live, WorkUnitDone.newBuilder().setUnit(unit(0, 0)).setWorker("w1").build()))
                .apply(new SupervisorEvent.LayerRecorded(LayerSolvedRecorded.newBuilder().setResult(solved(0, "a", 0)).build()));
        assertTrue(next.units().get(SupervisorState.key(unit(0, 0))).done());
        assertFalse(live.units().get(SupervisorState.key(unit(0, 0))).done(), "the earlier unit is untouched");
        assertTrue(live.solved().isEmpty() && live.history().isEmpty(), "and so are its solves");
        assertEquals(Map.of(0, Map.of("a", solved(0, "a", 0))), next.history());
        assertEquals(live.units().get(SupervisorState.key(unit(0, 0))).attempt(), next.units().get(SupervisorState.key(unit(0, 0))).attempt());
    }

    @Test
    void everyJournaledMessageReadsBackAsTheEventItWas() {
        SupervisorState s = started();
        for (SupervisorEvent e : Decide.submitted(SPEC, null, WORKERS).events()) {
            assertEquals(e, SupervisorEvent.of(e.message()));
            assertEquals(e, SupervisorEvent.ADAPTER.fromJournal(SupervisorEvent.ADAPTER.toJournal(e), "").events().head());
        }
        IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> SupervisorEvent.of(WorkUnitDone.getDefaultInstance()));
        assertTrue(refused.getMessage().contains("WorkUnitDone"), refused.getMessage());
        assertEquals(2, s.units().size());
    }
}
