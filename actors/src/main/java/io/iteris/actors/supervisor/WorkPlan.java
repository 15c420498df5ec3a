package io.iteris.actors.supervisor;

import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.ReassignCause;
import io.iteris.protocol.WorkUnitReassigned;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** How the supervisor decides who does which unit and when an iteration is complete, before it persists the decision as events. */
final class WorkPlan {
    private WorkPlan() {
    }

    /** New assignments for every unassigned unit, each to the least-loaded worker (ties: listing order). */
    static List<SupervisorEvent> assignments(SupervisorState view, List<String> workers) {
        if (workers.isEmpty()) {
            return List.of();
        }
        Map<String, Integer> load = new HashMap<>();
        workers.forEach(w -> load.put(w, 0));
        for (SupervisorState.Unit u : view.units().values()) {
            if (!u.done() && u.worker() != null && load.containsKey(u.worker())) {
                load.merge(u.worker(), 1, Integer::sum);
            }
        }
        List<SupervisorEvent> out = new ArrayList<>();
        long now = System.currentTimeMillis();
        for (SupervisorState.Unit u : view.units().values()) {
            if (u.worker() == null && !u.done()) {
                String w = workers.stream().min((a, b) -> Integer.compare(load.get(a), load.get(b))).orElseThrow();
                load.merge(w, 1, Integer::sum);
                out.add(new SupervisorEvent.UnitAssigned(WorkUnitAssigned.newBuilder().setUnit(u.id()).setWorker(w)
                        .setIncludeG(u.includeG()).setAtMillis(now).build()));
            }
        }
        return out;
    }

    /** A submitted job accepted: its plan's first iteration started and assigned, or, given a {@code problem}, failed at once. */
    static List<SupervisorEvent> accept(JobSpec spec, String problem, List<String> workers) {
        long now = System.currentTimeMillis();
        List<SupervisorEvent> evs = new ArrayList<>();
        evs.add(new SupervisorEvent.Accepted(JobAccepted.newBuilder().setSpec(spec).setAtMillis(now).build()));
        if (problem != null) {
            evs.add(new SupervisorEvent.Failed(JobFailed.newBuilder().setReason(problem).setAtMillis(now).build()));
            return evs;
        }
        evs.add(new SupervisorEvent.IterationBegan(IterationStarted.newBuilder().setIteration(0).setAtMillis(now).build()));
        evs.addAll(assignments(new SupervisorState().applyAll(evs), workers));
        return evs;
    }

    /** Of what a solver says it lacks, what must really be recomputed: units done (their statistics were lost), or lacking G. */
    static List<MissingUnit> needed(SupervisorState state, List<MissingUnit> missing) {
        List<MissingUnit> needed = new ArrayList<>();
        for (MissingUnit m : missing) {
            SupervisorState.Unit u = state.units().get(SupervisorState.key(m.getUnit()));
            if (u != null && (u.done() || (m.getIncludeG() && !u.includeG()))) {
                needed.add(m);
            }
        }
        return needed;
    }

    /** Units whose worker left (it is not in a non-empty listing) or is overdue, reassigned; then every free unit assigned. */
    static List<SupervisorEvent> rebalance(SupervisorState state, List<String> workers, long unitTimeoutMillis) {
        long now = System.currentTimeMillis();
        List<SupervisorEvent> evs = new ArrayList<>();
        for (SupervisorState.Unit u : state.units().values()) {
            if (u.done() || u.worker() == null) {
                continue;
            }
            boolean left = !workers.isEmpty() && !workers.contains(u.worker());
            boolean overdue = now - u.assignedAt() > unitTimeoutMillis;
            if (left || overdue) {
                evs.add(new SupervisorEvent.UnitReassigned(WorkUnitReassigned.newBuilder().setUnit(u.id()).setFromWorker(u.worker())
                        .setReason(left ? "worker left" : "overdue").setIncludeG(u.includeG())
                        .setCause(left ? ReassignCause.CAUSE_WORKER_LEFT : ReassignCause.CAUSE_OVERDUE).build()));
            }
        }
        evs.addAll(assignments(state.applyAll(evs), workers));
        return evs;
    }

    /** The given units taken back (for {@code reason}) and assigned anew. */
    static List<SupervisorEvent> reassign(SupervisorState state, List<MissingUnit> units, ReassignCause cause, String reason,
                                          List<String> workers) {
        SupervisorState view = state;
        List<SupervisorEvent> evs = new ArrayList<>();
        for (MissingUnit m : units) {
            SupervisorState.Unit u = view.units().get(SupervisorState.key(m.getUnit()));
            SupervisorEvent r = new SupervisorEvent.UnitReassigned(WorkUnitReassigned.newBuilder().setUnit(m.getUnit())
                    .setFromWorker(u.worker() == null ? "" : u.worker()).setReason(reason).setIncludeG(m.getIncludeG()).setCause(cause).build());
            evs.add(r);
            view = view.apply(r);
        }
        evs.addAll(assignments(view, workers));
        return evs;
    }

    /** After {@code completed}'s last iteration was completed: the next iteration's start and assignments. */
    static List<SupervisorEvent> nextIteration(SupervisorState completed, List<String> workers) {
        IterationCompleted done = completed.completedIterations().get(completed.completedIterations().size() - 1);
        SupervisorEvent next = new SupervisorEvent.IterationBegan(IterationStarted.newBuilder().setIteration(completed.iteration() + 1)
                .putAllWeights(done.getLayerHashesMap()).setAtMillis(System.currentTimeMillis()).build());
        List<SupervisorEvent> evs = new ArrayList<>();
        evs.add(next);
        evs.addAll(assignments(completed.apply(next), workers));
        return evs;
    }

    /** The iteration's completion once {@code last} joins the layers already solved: each layer's ΔW hash and the largest change. */
    static IterationCompleted completion(SupervisorState state, LayerSolved last) {
        Map<String, LayerSolved> all = new HashMap<>(state.solved());
        all.put(last.getLayer(), last);
        IterationCompleted.Builder done = IterationCompleted.newBuilder().setIteration(state.iteration())
                .setAtMillis(System.currentTimeMillis());
        double change = 0;
        for (String layer : state.spec().getLayersList()) {
            LayerSolved r = all.get(layer);
            done.putLayerHashes(layer, r.getContentHash());
            if (r.getHasChange()) {
                done.setHasChange(true);
                change = Math.max(change, r.getRelativeChange());
            }
        }
        return done.setMaxRelativeChange(change).build();
    }
}
