package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.ReassignCause;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitReassigned;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A unit's failures and refills are counted from the journal, so a supervisor recovered mid-job goes on counting. */
class UnitRetriesTest {
    static final UnitId UNIT = UnitId.newBuilder().setIteration(0).setTask(1).setShard(0).build();

    private static SupervisorState replay(List<Message> journal) {
        SupervisorState s = new SupervisorState();
        for (Message m : journal) {
            s = s.apply(SupervisorEvent.of(m));
        }
        return s;
    }

    private static WorkUnitReassigned reassigned(ReassignCause cause) {
        return WorkUnitReassigned.newBuilder().setUnit(UNIT).setFromWorker("w").setReason(cause.name()).setCause(cause).build();
    }

    @Test
    void failuresCountAcrossARecoveryAndTheThirdFailsTheJob() {
        List<Message> journal = new ArrayList<>(List.of(
                JobAccepted.newBuilder().setSpec(JobSpec.newBuilder().setJobId("j").setIterations(2).addShardsPerTask(1).addShardsPerTask(1)).build(),
                IterationStarted.newBuilder().setIteration(0).build(),
                WorkUnitAssigned.newBuilder().setUnit(UNIT).setWorker("w").build(),
                reassigned(ReassignCause.CAUSE_FAILED),
                WorkUnitAssigned.newBuilder().setUnit(UNIT).setWorker("w").build(),
                // taken back for other reasons: not failures
                reassigned(ReassignCause.CAUSE_OVERDUE),
                reassigned(ReassignCause.CAUSE_WORKER_LEFT),
                reassigned(ReassignCause.CAUSE_UNSPECIFIED),
                reassigned(ReassignCause.CAUSE_REFILL)));
        SupervisorState recovered = replay(journal);
        SupervisorState.Unit u = recovered.units().get(SupervisorState.key(UNIT));
        assertEquals(1, u.failures());
        assertEquals(1, u.refills());
        assertEquals(2, u.attempt());
        assertNull(UnitRetries.failed(u, "boom"), "the second failure is retried");
        journal.add(reassigned(ReassignCause.CAUSE_FAILED));
        SupervisorState.Unit again = replay(journal).units().get(SupervisorState.key(UNIT));
        String fatal = UnitRetries.failed(again, "boom");
        assertNotNull(fatal, "the third failure fails the job, although a fresh supervisor saw only this one");
        assertTrue(fatal.contains("failed 3 times: boom"), fatal);
    }

    @Test
    void refillsArePermittedUpToTheLimit() {
        List<Message> journal = new ArrayList<>(List.of(
                JobAccepted.newBuilder().setSpec(JobSpec.newBuilder().setJobId("j").setIterations(1).addShardsPerTask(1).addShardsPerTask(1)).build(),
                IterationStarted.newBuilder().setIteration(0).build()));
        for (int i = 0; i < UnitRetries.MAX_REFILLS - 1; i++) {
            journal.add(reassigned(ReassignCause.CAUSE_REFILL));
        }
        assertNull(UnitRetries.refilled(replay(journal).units().get(SupervisorState.key(UNIT)), "l"));
        journal.add(reassigned(ReassignCause.CAUSE_REFILL));
        assertNotNull(UnitRetries.refilled(replay(journal).units().get(SupervisorState.key(UNIT)), "l"));
    }
}
