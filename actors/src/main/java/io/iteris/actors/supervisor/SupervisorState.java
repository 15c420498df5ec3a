package io.iteris.actors.supervisor;

import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.ReassignCause;
import io.iteris.protocol.SupervisorSnapshot;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.UnitSnapshot;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * A merge job as its event log tells it: immutable, each event giving a new state ({@link #apply}), for the live
 * supervisor and for a replay of the journal alike (recovery, {@code iteris events}, the console), so all of them see
 * the same job, and work off the actor (publishing) may read it while the job goes on. An event copies only what it
 * changes (a unit event the current iteration's units, a solve that iteration's layers), never the history before.
 */
public final class SupervisorState {
    /** NEW: nothing accepted yet; RUNNING: iterating; PUBLISHING: the last solve is done, the output being written. */
    public enum Status { NEW, RUNNING, PUBLISHING, COMPLETED, FAILED }

    /**
     * One unit of inference work of the current iteration, as journaled.
     *
     * @param worker   the worker it is assigned to (its serialized ref), or null
     * @param attempt  assignments so far
     * @param failures times a worker reported it failed
     * @param refills  times a solver lacked its statistics
     */
    public record Unit(UnitId id, String worker, boolean includeG, boolean done, long assignedAt, int attempt, int failures, int refills) {
        Unit(UnitId id, boolean includeG) {
            this(id, null, includeG, false, 0, 0, 0, 0);
        }

        String key() {
            return SupervisorState.key(id);
        }
    }

    private Status status = Status.NEW;
    private JobSpec spec;
    private int iteration = -1;
    private Map<String, String> weights = Map.of();
    private Map<String, Unit> units = Map.of();
    private List<IterationCompleted> completed = List.of();
    private Map<Integer, Map<String, LayerSolved>> history = Map.of();
    private Map<Integer, Long> inferenceNanos = Map.of();
    private Map<Integer, Long> startedAt = Map.of();
    private String outcome = "";
    private long acceptedAt;
    private int restarts;

    /** The state before any event. */
    public SupervisorState() {
    }

    private SupervisorState(SupervisorState s) {
        status = s.status;
        spec = s.spec;
        iteration = s.iteration;
        weights = s.weights;
        units = s.units;
        completed = s.completed;
        history = s.history;
        inferenceNanos = s.inferenceNanos;
        startedAt = s.startedAt;
        outcome = s.outcome;
        acceptedAt = s.acceptedAt;
        restarts = s.restarts;
    }

    /** The state as a snapshot stores it ({@link SnapshotSerializer}). */
    public SupervisorSnapshot toSnapshot() {
        SupervisorSnapshot.Builder b = SupervisorSnapshot.newBuilder().setStatus(status.name()).setIteration(iteration)
                .putAllWeights(weights).addAllCompleted(completed).putAllInferenceNanos(inferenceNanos)
                .putAllStartedAt(startedAt).setOutcome(outcome).setAcceptedAt(acceptedAt).setRestarts(restarts);
        if (spec != null) {
            b.setSpec(spec);
        }
        for (Unit u : units.values()) {
            b.addUnits(UnitSnapshot.newBuilder().setId(u.id).setWorker(u.worker == null ? "" : u.worker).setIncludeG(u.includeG)
                    .setDone(u.done).setAssignedAt(u.assignedAt).setAttempt(u.attempt).setFailures(u.failures).setRefills(u.refills));
        }
        history.values().forEach(layers -> b.addAllHistory(layers.values()));
        return b.build();
    }

    /** The state a snapshot stored. */
    public static SupervisorState fromSnapshot(SupervisorSnapshot snap) {
        SupervisorState s = new SupervisorState();
        s.status = Status.valueOf(snap.getStatus());
        s.spec = snap.hasSpec() ? snap.getSpec() : null;
        s.iteration = snap.getIteration();
        s.weights = Map.copyOf(snap.getWeightsMap());
        Map<String, Unit> units = new LinkedHashMap<>();
        for (UnitSnapshot u : snap.getUnitsList()) {
            units.put(key(u.getId()), new Unit(u.getId(), u.getWorker().isEmpty() ? null : u.getWorker(), u.getIncludeG(), u.getDone(),
                    u.getAssignedAt(), u.getAttempt(), u.getFailures(), u.getRefills()));
        }
        s.units = Collections.unmodifiableMap(units);
        s.completed = List.copyOf(snap.getCompletedList());
        Map<Integer, Map<String, LayerSolved>> history = new TreeMap<>();
        snap.getHistoryList().forEach(r -> history.computeIfAbsent(r.getIteration(), k -> new LinkedHashMap<>()).put(r.getLayer(), r));
        history.replaceAll((it, layers) -> Collections.unmodifiableMap(layers));
        s.history = Collections.unmodifiableMap(history);
        s.inferenceNanos = Collections.unmodifiableMap(new TreeMap<>(snap.getInferenceNanosMap()));
        s.startedAt = Collections.unmodifiableMap(new TreeMap<>(snap.getStartedAtMap()));
        s.outcome = snap.getOutcome();
        s.acceptedAt = snap.getAcceptedAt();
        s.restarts = snap.getRestarts();
        return s;
    }

    public static String key(UnitId u) {
        return u.getIteration() + "/" + u.getTask() + "/" + u.getShard();
    }

    /** The state after {@code events}, in order. */
    public SupervisorState applyAll(List<? extends SupervisorEvent> events) {
        SupervisorState s = this;
        for (SupervisorEvent e : events) {
            s = s.apply(e);
        }
        return s;
    }

    /** The state after {@code event}; this one is left as it was. */
    public SupervisorState apply(SupervisorEvent event) {
        SupervisorState n = new SupervisorState(this);
        if (event instanceof SupervisorEvent.Accepted a) {
            n.spec = a.message().getSpec();
            n.status = Status.RUNNING;
            n.acceptedAt = a.message().getAtMillis();
        } else if (event instanceof SupervisorEvent.IterationBegan b) {
            IterationStarted e = b.message();
            n.iteration = e.getIteration();
            n.startedAt = with(startedAt, n.iteration, e.getAtMillis());
            n.weights = Map.copyOf(e.getWeightsMap());
            Map<String, Unit> planned = new LinkedHashMap<>();
            for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
                for (int s = 0; s < spec.getShardsPerTask(t); s++) {
                    UnitId id = UnitId.newBuilder().setIteration(n.iteration).setTask(t).setShard(s).build();
                    planned.put(key(id), new Unit(id, n.iteration == 0));
                }
            }
            n.units = Collections.unmodifiableMap(planned);
        } else if (event instanceof SupervisorEvent.UnitAssigned a) {
            WorkUnitAssigned e = a.message();
            n.units = withUnit(units, key(e.getUnit()), u -> new Unit(u.id, e.getWorker(), e.getIncludeG(), false, e.getAtMillis(),
                    u.attempt + 1, u.failures, u.refills));
        } else if (event instanceof SupervisorEvent.UnitCompleted c) {
            WorkUnitCompleted e = c.message();
            if (units.containsKey(key(e.getUnit()))) {
                n.units = withUnit(units, key(e.getUnit()), u -> new Unit(u.id, u.worker, u.includeG, true, u.assignedAt, u.attempt,
                        u.failures, u.refills));
                n.inferenceNanos = with(inferenceNanos, e.getUnit().getIteration(),
                        inferenceNanos.getOrDefault(e.getUnit().getIteration(), 0L) + e.getInferenceNanos());
            }
        } else if (event instanceof SupervisorEvent.UnitReassigned r) {
            WorkUnitReassigned e = r.message();
            n.units = withUnit(units, key(e.getUnit()), u -> new Unit(u.id, null, u.includeG || e.getIncludeG(), false, u.assignedAt,
                    u.attempt, u.failures + (e.getCause() == ReassignCause.CAUSE_FAILED ? 1 : 0),
                    u.refills + (e.getCause() == ReassignCause.CAUSE_REFILL ? 1 : 0)));
        } else if (event instanceof SupervisorEvent.LayerRecorded l) {
            LayerSolved r = l.message().getResult();
            n.history = with(history, r.getIteration(), with(history.getOrDefault(r.getIteration(), Map.of()), r.getLayer(), r));
        } else if (event instanceof SupervisorEvent.IterationEnded c) {
            List<IterationCompleted> all = new ArrayList<>(completed);
            all.add(c.message());
            n.completed = Collections.unmodifiableList(all);
            if (c.message().getLast()) {
                n.status = Status.PUBLISHING;
            }
        } else if (event instanceof SupervisorEvent.Resumed r) {
            n.restarts += r.message().getError().isEmpty() ? 0 : 1;
        } else if (event instanceof SupervisorEvent.Completed c) {
            n.status = Status.COMPLETED;
            n.outcome = c.message().getOutputPath();
        } else if (event instanceof SupervisorEvent.Failed f) {
            n.status = Status.FAILED;
            n.outcome = f.message().getReason();
        }
        return n;
    }

    /** {@code map} with one more entry (or one replaced), iterations in order, names as they came; {@code map} itself unchanged. */
    private static <K, V> Map<K, V> with(Map<K, V> map, K key, V value) {
        Map<K, V> copy = key instanceof Integer ? new TreeMap<>(map) : new LinkedHashMap<>(map);
        copy.put(key, value);
        return Collections.unmodifiableMap(copy);
    }

    /** {@code units} with one unit changed; an event about a unit of another iteration changes nothing. */
    private static Map<String, Unit> withUnit(Map<String, Unit> units, String key, UnaryOperator<Unit> change) {
        Unit u = units.get(key);
        return u == null ? units : with(units, key, change.apply(u));
    }

    public Status status() {
        return status;
    }

    public boolean running() {
        return status == Status.RUNNING;
    }

    public boolean publishing() {
        return status == Status.PUBLISHING;
    }

    /** Completed or failed. */
    public boolean finished() {
        return status == Status.COMPLETED || status == Status.FAILED;
    }

    /** Times the supervisor restarted after an error of its own (not after losing its node). */
    public int restarts() {
        return restarts;
    }

    public JobSpec spec() {
        return spec;
    }

    public int iteration() {
        return iteration;
    }

    /** Layer → ΔW hash of the previous iteration, which the current iteration's inference runs with. */
    public Map<String, String> weights() {
        return weights;
    }

    /** The current iteration's units, by {@link #key}, in plan order. */
    public Map<String, Unit> units() {
        return units;
    }

    public boolean allUnitsDone() {
        return units.values().stream().allMatch(Unit::done);
    }

    public long unitsDone() {
        return units.values().stream().filter(Unit::done).count();
    }

    /** The current iteration's solves, in the order they came (its part of {@link #history}). */
    public Map<String, LayerSolved> solved() {
        return history.getOrDefault(iteration, Map.of());
    }

    public boolean allLayersSolved() {
        return spec != null && solved().size() == spec.getLayersCount();
    }

    /** Whether the current iteration's IterationCompleted is recorded. */
    public boolean iterationCompleted() {
        return !completed.isEmpty() && completed.get(completed.size() - 1).getIteration() == iteration;
    }

    public List<IterationCompleted> completedIterations() {
        return completed;
    }

    public Map<Integer, Map<String, LayerSolved>> history() {
        return history;
    }

    /** When the iteration started (epoch millis, as journaled). */
    public long startedAt(int it) {
        return startedAt.getOrDefault(it, acceptedAt);
    }

    public long inferenceNanos(int it) {
        return inferenceNanos.getOrDefault(it, 0L);
    }

    /** The output path once completed, the reason once failed. */
    public String outcome() {
        return outcome;
    }

    public long acceptedAt() {
        return acceptedAt;
    }
}
