package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import io.iteris.core.engine.IterationPolicy;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.ReassignCause;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;

import java.util.ArrayList;
import java.util.List;

/**
 * What a running supervisor decides on a command: the events to journal, or why the job fails. Pure functions of the
 * journal's state and the command (no actor, no clock but the one given), so each decision is tested without a cluster
 * ({@code DecideTest}); {@link MergeSupervisor} persists what they return and acts on it.
 */
final class Decide {
    private Decide() {
    }

    /** Events to persist (none: nothing to do), or the reason the job fails. */
    record Decision(List<Message> events, String failure) {
        static final Decision NONE = new Decision(List.of(), null);

        static Decision persist(List<Message> events) {
            return new Decision(List.copyOf(events), null);
        }

        static Decision fail(String reason) {
            return new Decision(List.of(), reason);
        }
    }

    /** A worker finished a unit of the current iteration (a repeat, or a unit of another iteration, changes nothing). */
    static Decision unitDone(SupervisorState state, WorkUnitDone cmd) {
        SupervisorState.Unit u = state.units().get(SupervisorState.key(cmd.getUnit()));
        if (u == null || u.done) {
            return Decision.NONE;
        }
        return Decision.persist(List.of(WorkUnitCompleted.newBuilder().setUnit(cmd.getUnit()).setWorker(cmd.getWorker())
                .setInferenceNanos(cmd.getInferenceNanos()).setBytesSent(cmd.getBytesSent()).build()));
    }

    /** A unit failed: it goes to a worker again, unless it failed too often. */
    static Decision unitFailed(SupervisorState state, WorkUnitFailed cmd, List<String> workers) {
        SupervisorState.Unit u = state.units().get(SupervisorState.key(cmd.getUnit()));
        if (u == null || u.done) {
            return Decision.NONE;
        }
        String fatal = UnitRetries.failed(u, cmd.getReason());
        if (fatal != null) {
            return Decision.fail(fatal);
        }
        return Decision.persist(WorkPlan.reassign(state, List.of(MissingUnit.newBuilder().setUnit(cmd.getUnit()).setIncludeG(u.includeG).build()),
                ReassignCause.CAUSE_FAILED, "failed: " + cmd.getReason(), workers));
    }

    /** A solver lacks statistics of the current iteration: the units are computed again, unless that loops. */
    static Decision missing(SupervisorState state, MissingStatistics cmd, List<String> workers) {
        if (cmd.getIteration() != state.iteration()) {
            return Decision.NONE;
        }
        List<MissingUnit> needed = WorkPlan.needed(state, cmd.getMissingList());
        for (MissingUnit m : needed) {
            String fatal = UnitRetries.refilled(state.units().get(SupervisorState.key(m.getUnit())), cmd.getLayer());
            if (fatal != null) {
                return Decision.fail(fatal);
            }
        }
        return needed.isEmpty() ? Decision.NONE : Decision.persist(WorkPlan.reassign(state, needed, ReassignCause.CAUSE_REFILL,
                "solver of " + cmd.getLayer() + " lacks statistics", workers));
    }

    /** A layer solved: recorded; the iteration's last layer also completes it and starts the next, unless the loop ends. */
    static Decision layerSolved(SupervisorState state, LayerSolved cmd, IterationPolicy policy, List<String> workers) {
        if (cmd.getIteration() != state.iteration() || state.solved().containsKey(cmd.getLayer())) {
            return Decision.NONE;
        }
        List<Message> evs = new ArrayList<>();
        evs.add(LayerSolvedRecorded.newBuilder().setResult(cmd).build());
        if (state.solved().size() + 1 < state.spec().getLayersCount()) {
            return Decision.persist(evs);
        }
        IterationCompleted completed = WorkPlan.completion(state, cmd);
        completed = completed.toBuilder().setLast(policy.isLast(completed.getIteration(), completed.getMaxRelativeChange())).build();
        evs.add(completed);
        if (!completed.getLast()) {
            evs.addAll(WorkPlan.nextIteration(state, evs, workers));
        }
        return Decision.persist(evs);
    }

    /**
     * After a recovery: journal it, with the error that caused it (empty after the loss of a node); past
     * {@code maxRestarts} restarts after errors, the job fails.
     */
    static Decision resumed(SupervisorState state, String error, String node, int maxRestarts, long now) {
        List<Message> evs = new ArrayList<>();
        evs.add(JobResumed.newBuilder().setNode(node).setIteration(state.iteration()).setAtMillis(now).setError(error).build());
        int restarts = state.restarts() + (error.isEmpty() ? 0 : 1);
        if (restarts > maxRestarts) {
            evs.add(JobFailed.newBuilder().setReason("the supervisor failed " + restarts + " times (iteris.engine.max-supervisor-restarts = "
                    + maxRestarts + "); last error: " + error).setAtMillis(now).build());
        }
        return Decision.persist(evs);
    }
}
