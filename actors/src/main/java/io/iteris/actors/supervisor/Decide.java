package io.iteris.actors.supervisor;

import io.iteris.core.engine.IterationPolicy;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.JobSpec;
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
 * What a supervisor decides on a command: the events to journal and what to do once they are journaled, or why the job
 * fails. Functions of the journal's state and the command, with no actor, so each decision is tested without a cluster
 * ({@code DecideTest}); {@link MergeSupervisor}'s handlers only persist what they return and carry out the acts.
 */
final class Decide {
    private Decide() {
    }

    /** What the supervisor does after a decision's events are journaled, in order. */
    sealed interface Act permits SendUnit, Step {}

    /** Send the unit (by its {@link SupervisorState#key}) to the worker it is assigned to. */
    record SendUnit(String unit) implements Act {}

    enum Step implements Act {
        /** Tell every solver the job, so it can check statistics before they arrive. */
        INTRODUCE_SOLVERS,
        /** Send every assigned unit not yet done again (the previous incarnation's may be lost). */
        RESEND_UNITS,
        /** Ask every solver whose layer is not solved in this iteration to solve. */
        REQUEST_SOLVES,
        /** Write the merged adapter, off the actor. */
        PUBLISH
    }

    /** Events to persist and acts to carry out after (none: nothing to do), or the reason the job fails. */
    record Decision(List<SupervisorEvent> events, List<Act> acts, String failure) {
        static final Decision NONE = new Decision(List.of(), List.of(), null);

        /**
         * {@code events} and the acts they call for on their own: solvers introduced when a job is accepted, a unit
         * sent when assigned, solves requested when an iteration has no units or its last unit is done, publishing after
         * the last iteration.
         */
        static Decision persist(SupervisorState before, List<SupervisorEvent> events) {
            return persist(before, events, List.of());
        }

        /** As {@link #persist(SupervisorState, List)}, then {@code more}. */
        static Decision persist(SupervisorState before, List<SupervisorEvent> events, List<Act> more) {
            SupervisorState after = before.applyAll(events);
            List<Act> acts = new ArrayList<>();
            for (SupervisorEvent e : events) {
                if (e instanceof SupervisorEvent.Accepted && after.running()) {
                    acts.add(Step.INTRODUCE_SOLVERS);
                } else if (e instanceof SupervisorEvent.UnitAssigned a) {
                    acts.add(new SendUnit(SupervisorState.key(a.message().getUnit())));
                } else if (e instanceof SupervisorEvent.IterationBegan && after.units().isEmpty()) {
                    acts.add(Step.REQUEST_SOLVES);
                } else if (e instanceof SupervisorEvent.UnitCompleted && after.allUnitsDone()) {
                    // the iteration's last unit: every solver has its statistics
                    acts.add(Step.REQUEST_SOLVES);
                } else if (e instanceof SupervisorEvent.IterationEnded c && c.message().getLast()) {
                    acts.add(Step.PUBLISH);
                }
            }
            acts.addAll(more);
            return new Decision(List.copyOf(events), List.copyOf(acts), null);
        }

        static Decision fail(String reason) {
            return new Decision(List.of(), List.of(), reason);
        }
    }

    /** A submitted job: accepted, its first iteration started and assigned, or, given a {@code problem}, failed at once. */
    static Decision submitted(JobSpec spec, String problem, List<String> workers) {
        return Decision.persist(new SupervisorState(), WorkPlan.accept(spec, problem, workers));
    }

    /** Units whose worker left or is overdue taken back, and every free unit assigned. */
    static Decision rebalance(SupervisorState state, List<String> workers, long unitTimeoutMillis) {
        List<SupervisorEvent> evs = WorkPlan.rebalance(state, workers, unitTimeoutMillis);
        return evs.isEmpty() ? Decision.NONE : Decision.persist(state, evs);
    }

    /** A worker finished a unit of the current iteration (a repeat, or a unit of another iteration, changes nothing). */
    static Decision unitDone(SupervisorState state, WorkUnitDone cmd) {
        SupervisorState.Unit u = state.units().get(SupervisorState.key(cmd.getUnit()));
        if (u == null || u.done()) {
            return Decision.NONE;
        }
        return Decision.persist(state, List.of(new SupervisorEvent.UnitCompleted(WorkUnitCompleted.newBuilder().setUnit(cmd.getUnit())
                .setWorker(cmd.getWorker()).setInferenceNanos(cmd.getInferenceNanos()).setBytesSent(cmd.getBytesSent()).build())));
    }

    /** A unit failed: it goes to a worker again, unless it failed too often. */
    static Decision unitFailed(SupervisorState state, WorkUnitFailed cmd, List<String> workers) {
        SupervisorState.Unit u = state.units().get(SupervisorState.key(cmd.getUnit()));
        if (u == null || u.done()) {
            return Decision.NONE;
        }
        String fatal = UnitRetries.failed(u, cmd.getReason());
        if (fatal != null) {
            return Decision.fail(fatal);
        }
        return Decision.persist(state, WorkPlan.reassign(state, List.of(MissingUnit.newBuilder().setUnit(cmd.getUnit())
                .setIncludeG(u.includeG()).build()), ReassignCause.CAUSE_FAILED, "failed: " + cmd.getReason(), workers));
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
        return needed.isEmpty() ? Decision.NONE : Decision.persist(state, WorkPlan.reassign(state, needed, ReassignCause.CAUSE_REFILL,
                "solver of " + cmd.getLayer() + " lacks statistics", workers));
    }

    /** A layer solved: recorded; the iteration's last layer also completes it and starts the next, unless the loop ends. */
    static Decision layerSolved(SupervisorState state, LayerSolved cmd, IterationPolicy policy, List<String> workers) {
        if (cmd.getIteration() != state.iteration() || state.solved().containsKey(cmd.getLayer())) {
            return Decision.NONE;
        }
        List<SupervisorEvent> evs = new ArrayList<>();
        evs.add(new SupervisorEvent.LayerRecorded(LayerSolvedRecorded.newBuilder().setResult(cmd).build()));
        if (state.solved().size() + 1 < state.spec().getLayersCount()) {
            return Decision.persist(state, evs);
        }
        IterationCompleted completed = WorkPlan.completion(state, cmd);
        completed = completed.toBuilder().setLast(policy.isLast(completed.getIteration(), completed.getMaxRelativeChange())).build();
        evs.add(new SupervisorEvent.IterationEnded(completed));
        if (!completed.getLast()) {
            evs.addAll(WorkPlan.nextIteration(state.applyAll(evs), workers));
        }
        return Decision.persist(state, evs);
    }

    /**
     * After a recovery: journal it, with the error that caused it (empty after the loss of a node), then pick up where
     * the journal ends (units sent again, solves asked for again, or publishing); past {@code maxRestarts} restarts
     * after errors, the job fails.
     */
    static Decision resumed(SupervisorState state, String error, String node, int maxRestarts, long now) {
        List<SupervisorEvent> evs = new ArrayList<>();
        evs.add(new SupervisorEvent.Resumed(JobResumed.newBuilder().setNode(node).setIteration(state.iteration()).setAtMillis(now)
                .setError(error).build()));
        int restarts = state.restarts() + (error.isEmpty() ? 0 : 1);
        if (restarts > maxRestarts) {
            evs.add(new SupervisorEvent.Failed(JobFailed.newBuilder().setReason("the supervisor failed " + restarts
                    + " times (iteris.engine.max-supervisor-restarts = " + maxRestarts + "); last error: " + error).setAtMillis(now).build()));
            return Decision.persist(state, evs);
        }
        List<Act> acts = new ArrayList<>();
        if (state.running()) {
            acts.add(Step.INTRODUCE_SOLVERS);
            acts.add(Step.RESEND_UNITS);
            if (state.allUnitsDone() && !state.allLayersSolved()) {
                acts.add(Step.REQUEST_SOLVES);
            }
        } else if (state.publishing()) {
            acts.add(Step.PUBLISH);
        }
        return Decision.persist(state, evs, acts);
    }
}
