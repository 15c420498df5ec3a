package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.ReassignCause;
import io.iteris.protocol.WorkUnitReassigned;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A merge job as its event log tells it. Only {@link #apply} changes it, for the live supervisor and for
 * a replay of the journal alike (recovery, {@code iteris events}, the client's final read), so all of them
 * see the same job.
 */
public final class SupervisorState {
    /** NEW: nothing accepted yet; RUNNING: iterating; PUBLISHING: the last solve is done, the output being written. */
    public enum Status { NEW, RUNNING, PUBLISHING, COMPLETED, FAILED }

    /** One unit of inference work of the current iteration. */
    public static final class Unit {
        public final UnitId id;
        public String worker;
        public boolean includeG;
        public boolean done;
        public long assignedAt;
        /** Assignments so far (replayed from the journal, so the same after a recovery). */
        public int attempt;
        /** Times a worker reported it failed, and times a solver lacked its statistics (both from the journal). */
        public int failures;
        public int refills;

        Unit(UnitId id, boolean includeG) {
            this.id = id;
            this.includeG = includeG;
        }
    }

    private Status status = Status.NEW;
    private JobSpec spec;
    private int iteration = -1;
    private Map<String, String> weights = Map.of();
    private final Map<String, Unit> units = new LinkedHashMap<>();
    private final Map<String, LayerSolved> solved = new LinkedHashMap<>();
    private final List<IterationCompleted> completed = new ArrayList<>();
    private final Map<Integer, Map<String, LayerSolved>> history = new TreeMap<>();
    private final Map<Integer, Long> inferenceNanos = new TreeMap<>();
    private final Map<Integer, Long> startedAt = new TreeMap<>();
    private String outcome = "";
    private long acceptedAt;
    private int restarts;

    /**
     * A private copy, for work done off the actor (publishing) or for computing events before they are persisted: the
     * live state changes with every event, and its units are mutable. (The messages it holds are immutable.)
     */
    public SupervisorState copy() {
        SupervisorState c = new SupervisorState();
        c.status = status;
        c.spec = spec;
        c.iteration = iteration;
        c.weights = weights;
        units.forEach((k, u) -> {
            Unit v = new Unit(u.id, u.includeG);
            v.worker = u.worker;
            v.done = u.done;
            v.assignedAt = u.assignedAt;
            v.attempt = u.attempt;
            v.failures = u.failures;
            v.refills = u.refills;
            c.units.put(k, v);
        });
        c.solved.putAll(solved);
        c.completed.addAll(completed);
        history.forEach((it, layers) -> c.history.put(it, new LinkedHashMap<>(layers)));
        c.inferenceNanos.putAll(inferenceNanos);
        c.startedAt.putAll(startedAt);
        c.outcome = outcome;
        c.acceptedAt = acceptedAt;
        c.restarts = restarts;
        return c;
    }

    public static String key(UnitId u) {
        return u.getIteration() + "/" + u.getTask() + "/" + u.getShard();
    }

    public SupervisorState apply(Message event) {
        if (event instanceof JobAccepted e) {
            spec = e.getSpec();
            status = Status.RUNNING;
            acceptedAt = e.getAtMillis();
        } else if (event instanceof IterationStarted e) {
            iteration = e.getIteration();
            startedAt.put(iteration, e.getAtMillis());
            weights = Map.copyOf(e.getWeightsMap());
            units.clear();
            solved.clear();
            for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
                for (int s = 0; s < spec.getShardsPerTask(t); s++) {
                    UnitId id = UnitId.newBuilder().setIteration(iteration).setTask(t).setShard(s).build();
                    units.put(key(id), new Unit(id, iteration == 0));
                }
            }
        } else if (event instanceof WorkUnitAssigned e) {
            Unit u = units.get(key(e.getUnit()));
            if (u != null) {
                u.worker = e.getWorker();
                u.includeG = e.getIncludeG();
                u.done = false;
                u.assignedAt = e.getAtMillis();
                u.attempt++;
            }
        } else if (event instanceof WorkUnitCompleted e) {
            Unit u = units.get(key(e.getUnit()));
            if (u != null) {
                u.done = true;
                inferenceNanos.merge(e.getUnit().getIteration(), e.getInferenceNanos(), Long::sum);
            }
        } else if (event instanceof WorkUnitReassigned e) {
            Unit u = units.get(key(e.getUnit()));
            if (u != null) {
                u.worker = null;
                u.done = false;
                u.includeG |= e.getIncludeG();
                u.failures += e.getCause() == ReassignCause.CAUSE_FAILED ? 1 : 0;
                u.refills += e.getCause() == ReassignCause.CAUSE_REFILL ? 1 : 0;
            }
        } else if (event instanceof LayerSolvedRecorded e) {
            LayerSolved r = e.getResult();
            if (r.getIteration() == iteration) {
                solved.put(r.getLayer(), r);
            }
            history.computeIfAbsent(r.getIteration(), k -> new LinkedHashMap<>()).put(r.getLayer(), r);
        } else if (event instanceof IterationCompleted e) {
            completed.add(e);
            if (e.getLast()) {
                status = Status.PUBLISHING;
            }
        } else if (event instanceof JobResumed e) {
            if (!e.getError().isEmpty()) {
                restarts++;
            }
        } else if (event instanceof JobCompleted e) {
            status = Status.COMPLETED;
            outcome = e.getOutputPath();
        } else if (event instanceof JobFailed e) {
            status = Status.FAILED;
            outcome = e.getReason();
        }
        return this;
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

    public Map<String, Unit> units() {
        return units;
    }

    public boolean allUnitsDone() {
        return units.values().stream().allMatch(u -> u.done);
    }

    public long unitsDone() {
        return units.values().stream().filter(u -> u.done).count();
    }

    public Map<String, LayerSolved> solved() {
        return solved;
    }

    public boolean allLayersSolved() {
        return spec != null && solved.size() == spec.getLayersCount();
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
