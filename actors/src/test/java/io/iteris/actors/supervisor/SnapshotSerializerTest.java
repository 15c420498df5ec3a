package io.iteris.actors.supervisor;

import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import org.junit.jupiter.api.Test;

import java.io.NotSerializableException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A snapshot gives back the state the events gave, field by field, whatever the job went through. */
class SnapshotSerializerTest {
    private static final SnapshotSerializer SERIALIZER = new SnapshotSerializer();

    private static SupervisorState roundTrip(SupervisorState s) throws NotSerializableException {
        return (SupervisorState) SERIALIZER.fromBinary(SERIALIZER.toBinary(s), SERIALIZER.manifest(s));
    }

    private static UnitId unit(int iteration, int task) {
        return UnitId.newBuilder().setIteration(iteration).setTask(task).setShard(0).build();
    }

    private static LayerSolved solved(int iteration, String layer, double change) {
        return LayerSolved.newBuilder().setJobId("j").setLayer(layer).setIteration(iteration).setContentHash(layer + iteration)
                .setHasChange(iteration > 0).setRelativeChange(change).build();
    }

    private static void assertSame(SupervisorState want, SupervisorState got) {
        assertEquals(want.status(), got.status());
        assertEquals(want.spec(), got.spec());
        assertEquals(want.iteration(), got.iteration());
        assertEquals(want.weights(), got.weights());
        assertEquals(want.units(), got.units(), "every unit with its worker, attempts, failures and refills, in plan order");
        assertEquals(List.copyOf(want.units().keySet()), List.copyOf(got.units().keySet()));
        assertEquals(want.solved(), got.solved());
        assertEquals(want.completedIterations(), got.completedIterations());
        assertEquals(want.history(), got.history());
        for (int it = 0; it <= Math.max(0, want.iteration()); it++) {
            assertEquals(want.inferenceNanos(it), got.inferenceNanos(it));
            assertEquals(want.startedAt(it), got.startedAt(it));
        }
        assertEquals(want.outcome(), got.outcome());
        assertEquals(want.acceptedAt(), got.acceptedAt());
        assertEquals(want.restarts(), got.restarts());
    }

    /** The state after each step of a job, snapshotted there and read back. */
    @Test
    void everyStateOfAJobComesBackFieldByField() throws NotSerializableException {
        List<SupervisorState> states = new ArrayList<>();
        SupervisorState s = new SupervisorState().applyAll(Decide.submitted(DecideTest.SPEC, null, DecideTest.WORKERS).events());
        states.add(s);
        states.add(s = s.applyAll(Decide.unitDone(s, WorkUnitDone.newBuilder().setUnit(unit(0, 0)).setWorker("w1").setInferenceNanos(7)
                .build()).events()));
        states.add(s = s.applyAll(Decide.unitFailed(s, WorkUnitFailed.newBuilder().setUnit(unit(0, 1)).setWorker("w2").setReason("x")
                .build(), DecideTest.WORKERS).events()));
        assertEquals(1, s.units().get("0/1/0").failures());
        assertEquals(2, s.units().get("0/1/0").attempt());
        states.add(s = s.applyAll(Decide.missing(s, MissingStatistics.newBuilder().setLayer("a").setIteration(0)
                .addMissing(MissingUnit.newBuilder().setUnit(unit(0, 0)).setIncludeG(true)).build(), DecideTest.WORKERS).events()));
        assertEquals(1, s.units().get("0/0/0").refills());
        states.add(s = s.applyAll(Decide.unitDone(s, WorkUnitDone.newBuilder().setUnit(unit(0, 0)).setWorker("w1").setInferenceNanos(4)
                .build()).events()));
        states.add(s = s.applyAll(Decide.unitDone(s, WorkUnitDone.newBuilder().setUnit(unit(0, 1)).setWorker("w1").setInferenceNanos(3)
                .build()).events()));
        states.add(s = s.applyAll(Decide.layerSolved(s, solved(0, "b", 0), DecideTest.POLICY, DecideTest.WORKERS).events()));
        states.add(s = s.applyAll(Decide.layerSolved(s, solved(0, "a", 0), DecideTest.POLICY, DecideTest.WORKERS).events()));
        states.add(s = s.applyAll(Decide.resumed(s, "IllegalStateException: y", "node-2", 5, 9).events()));
        states.add(s = s.applyAll(Decide.layerSolved(s, solved(1, "a", 0.2), DecideTest.POLICY, DecideTest.WORKERS).events()));
        assertEquals(1, s.iteration(), "in the second iteration, one layer solved");
        assertEquals(1, s.restarts());
        for (SupervisorState each : states) {
            assertSame(each, roundTrip(each));
        }
    }

    @Test
    void theStatesBeforeAcceptanceAndAfterTheEndComeBackToo() throws NotSerializableException {
        SupervisorState empty = new SupervisorState();
        SupervisorState back = roundTrip(empty);
        assertNull(back.spec());
        assertSame(empty, back);
        SupervisorState refused = new SupervisorState().applyAll(Decide.submitted(DecideTest.SPEC, "cannot see the base model",
                DecideTest.WORKERS).events());
        assertTrue(refused.finished());
        assertSame(refused, roundTrip(refused));
    }

    @Test
    void anUnknownManifestIsRefusedByName() {
        NotSerializableException e = assertThrows(NotSerializableException.class, () -> SERIALIZER.fromBinary(new byte[0], "SupervisorSnapshotV9"));
        assertTrue(e.getMessage().contains("SupervisorSnapshotV9"), e.getMessage());
    }
}
