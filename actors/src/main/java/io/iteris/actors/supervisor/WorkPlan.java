package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.WorkUnitAssigned;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** How the supervisor decides who does which unit and when an iteration is complete, before it persists the decision as events. */
final class WorkPlan {
    private WorkPlan() {
    }

    /** New assignments for every unassigned unit, each to the least-loaded worker (ties: listing order). */
    static List<Message> assignments(SupervisorState view, List<String> workers) {
        if (workers.isEmpty()) {
            return List.of();
        }
        Map<String, Integer> load = new HashMap<>();
        workers.forEach(w -> load.put(w, 0));
        for (SupervisorState.Unit u : view.units().values()) {
            if (!u.done && u.worker != null && load.containsKey(u.worker)) {
                load.merge(u.worker, 1, Integer::sum);
            }
        }
        List<Message> out = new ArrayList<>();
        long now = System.currentTimeMillis();
        for (SupervisorState.Unit u : view.units().values()) {
            if (u.worker == null && !u.done) {
                String w = workers.stream().min((a, b) -> Integer.compare(load.get(a), load.get(b))).orElseThrow();
                load.merge(w, 1, Integer::sum);
                out.add(WorkUnitAssigned.newBuilder().setUnit(u.id).setWorker(w).setIncludeG(u.includeG).setAtMillis(now).build());
            }
        }
        return out;
    }

    /** A private copy of the current iteration's plan, to compute events before they are persisted. */
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

    static SupervisorState copyOf(SupervisorState state) {
        SupervisorState copy = new SupervisorState().apply(JobAccepted.newBuilder().setSpec(state.spec()).build())
                .apply(IterationStarted.newBuilder().setIteration(state.iteration()).putAllWeights(state.weights()).build());
        for (Map.Entry<String, SupervisorState.Unit> e : state.units().entrySet()) {
            SupervisorState.Unit src = e.getValue();
            SupervisorState.Unit dst = copy.units().get(e.getKey());
            dst.worker = src.worker;
            dst.includeG = src.includeG;
            dst.done = src.done;
            dst.assignedAt = src.assignedAt;
        }
        return copy;
    }
}
