package io.iteris.actors.client;

import com.google.protobuf.Message;
import io.iteris.actors.metrics.NodeMetrics;
import io.iteris.actors.supervisor.SupervisorEvent;
import io.iteris.actors.supervisor.SupervisorState;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.persistence.query.EventEnvelope;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a job stands, as its journal tells it: state, current iteration, work done per node, and every
 * failure the engine handled (reassignments by reason, resumptions after losing the supervisor's node).
 */
public record JobStatus(String jobId, SupervisorState state, Map<String, Integer> unitsPerNode, Map<String, Integer> reassigned,
                        List<JobResumed> resumed, long firstMillis, long lastMillis, int events) {

    public static JobStatus of(String jobId, List<EventEnvelope> envelopes) {
        return empty(jobId).then(envelopes);
    }

    /** A job before its first event. */
    public static JobStatus empty(String jobId) {
        return new JobStatus(jobId, new SupervisorState(), Map.of(), Map.of(), List.of(), 0, 0, 0);
    }

    /**
     * This status with {@code later} events folded in, the events that follow the {@link #events} already folded (a
     * reader that keeps a status reads only the journal's new events: {@code JobHistory.eventsAsync(system, id, events + 1)}).
     */
    public JobStatus then(List<EventEnvelope> later) {
        if (later.isEmpty()) {
            return this;
        }
        SupervisorState s = state;
        Map<String, Integer> perNode = new TreeMap<>(unitsPerNode);
        Map<String, Integer> reasons = new TreeMap<>(reassigned);
        List<JobResumed> resumes = new java.util.ArrayList<>(resumed);
        long first = events == 0 ? Long.MAX_VALUE : firstMillis;
        long last = lastMillis;
        for (EventEnvelope e : later) {
            Message m = (Message) e.event();
            s = s.apply(SupervisorEvent.of(m));
            first = Math.min(first, e.timestamp());
            last = Math.max(last, e.timestamp());
            if (m instanceof WorkUnitCompleted c) {
                perNode.merge(node(c.getWorker()), 1, Integer::sum);
            } else if (m instanceof WorkUnitReassigned r) {
                reasons.merge(NodeMetrics.withoutLayer(r.getReason()), 1, Integer::sum);
            } else if (m instanceof JobResumed r) {
                resumes.add(r);
            }
        }
        return new JobStatus(jobId, s, Collections.unmodifiableMap(perNode), Collections.unmodifiableMap(reasons),
                List.copyOf(resumes), first, last, events + later.size());
    }

    /** {@code pekko://iteris@host:port/user/...#uid} → {@code host:port}. */
    static String node(String actorRef) {
        int at = actorRef.indexOf('@');
        int slash = actorRef.indexOf('/', Math.max(0, at));
        return at < 0 ? actorRef : actorRef.substring(at + 1, slash < 0 ? actorRef.length() : slash);
    }

    /** One line for a list of jobs. */
    public String summary(Instant now) {
        String where = state.spec() == null ? "" : String.format(Locale.ROOT, "iteration %d/%d, units %d/%d, layers %d/%d",
                state.iteration() + 1, state.spec().getIterations(), state.unitsDone(), state.units().size(),
                state.solved().size(), state.spec().getLayersCount());
        return String.format(Locale.ROOT, "%-38s %-9s %-48s last event %s ago", jobId, state.status().name().toLowerCase(Locale.ROOT),
                where, ago(now));
    }

    /** The full account of one job. */
    public String describe(Instant now) {
        StringBuilder sb = new StringBuilder();
        sb.append("job ").append(jobId).append(": ").append(state.status().name().toLowerCase(Locale.ROOT));
        if (state.spec() != null) {
            sb.append(String.format(Locale.ROOT, ", %s, %d adapters, %d layers%n", state.spec().getMethod(),
                    state.spec().getAdaptersCount(), state.spec().getLayersCount()));
            if (state.running()) {
                sb.append(String.format(Locale.ROOT, "  now: iteration %d of at most %d, units %d/%d done, layers %d/%d solved%n",
                        state.iteration() + 1, state.spec().getIterations(), state.unitsDone(), state.units().size(),
                        state.solved().size(), state.spec().getLayersCount()));
            } else if (state.publishing()) {
                sb.append("  now: publishing the output after the last solve\n");
            }
        } else {
            sb.append('\n');
        }
        sb.append(String.format(Locale.ROOT, "  events: %d, first %s, last %s (%s ago)%n", events, Instant.ofEpochMilli(firstMillis),
                Instant.ofEpochMilli(lastMillis), ago(now)));
        for (IterationCompleted c : state.completedIterations()) {
            sb.append(String.format(Locale.ROOT, "  iteration %d completed%s%n", c.getIteration() + 1,
                    c.getHasChange() ? String.format(Locale.ROOT, ", max relative change of dW %.3e", c.getMaxRelativeChange()) : ""));
        }
        if (!unitsPerNode.isEmpty()) {
            sb.append("  work units done per node:");
            unitsPerNode.forEach((n, k) -> sb.append(' ').append(n).append('=').append(k));
            sb.append('\n');
        }
        if (reassigned.isEmpty() && resumed.isEmpty()) {
            sb.append("  failures handled: none\n");
        } else {
            sb.append("  failures handled:\n");
            reassigned.forEach((r, k) -> sb.append(String.format(Locale.ROOT, "    %d work unit(s) reassigned: %s%n", k, r)));
            for (JobResumed r : resumed) {
                sb.append(String.format(Locale.ROOT, "    supervisor resumed from the journal on %s at iteration %d (%s)%n",
                        node(r.getNode()), r.getIteration() + 1, Instant.ofEpochMilli(r.getAtMillis())));
            }
        }
        if (state.status() == SupervisorState.Status.COMPLETED) {
            sb.append("  output: ").append(state.outcome()).append('\n');
        } else if (state.status() == SupervisorState.Status.FAILED) {
            sb.append("  failed: ").append(state.outcome()).append('\n');
        }
        return sb.toString();
    }

    private String ago(Instant now) {
        Duration d = Duration.between(Instant.ofEpochMilli(lastMillis), now);
        long s = Math.max(0, d.getSeconds());
        return s < 120 ? s + " s" : s < 7200 ? s / 60 + " min" : s / 3600 + " h";
    }
}
