package io.iteris.deploy.console;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Message;
import io.iteris.actors.client.JobStatus;
import io.iteris.actors.supervisor.Progress;
import io.iteris.actors.supervisor.SupervisorState;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.LayerSolved;
import org.apache.pekko.persistence.query.EventEnvelope;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** One job as the console shows it, from its journal: the JSON of {@code /api/jobs/{id}} and what the pages draw. */
record JobView(JobStatus status) {
    static final ObjectMapper JSON = new ObjectMapper();

    String id() {
        return status.jobId();
    }

    SupervisorState state() {
        return status.state();
    }

    /** new, running, publishing, completed, failed. */
    String stateName() {
        return state().status().name().toLowerCase(Locale.ROOT);
    }

    boolean finished() {
        return state().finished();
    }

    /** Where a completed job published its output; empty otherwise. */
    java.util.Optional<String> output() {
        return state().status() == SupervisorState.Status.COMPLETED ? java.util.Optional.of(state().outcome()) : java.util.Optional.empty();
    }

    /** The solve running now, 1-based (the last one once finished). */
    int iteration() {
        SupervisorState s = state();
        return s.running() ? s.iteration() + 1 : s.completedIterations().size();
    }

    int iterations() {
        return state().spec() == null ? 0 : state().spec().getIterations();
    }

    /**
     * Per solve, the relative change of every layer as merge-report.json has it (1-based iteration,
     * relative_change {layer: value}, max_relative_change) and, once the iteration completed, its wall, inference
     * and solve times, so the report's charts draw them.
     */
    ArrayNode changes() {
        ArrayNode out = JSON.createArrayNode();
        Map<Integer, IterationCompleted> done = new TreeMap<>();
        state().completedIterations().forEach(c -> done.put(c.getIteration(), c));
        new TreeMap<>(state().history()).forEach((it, layers) -> {
            ObjectNode n = out.addObject().put("iteration", it + 1);
            if (layers.values().stream().anyMatch(LayerSolved::getHasChange)) {
                ObjectNode rc = n.putObject("relative_change");
                double max = 0;
                for (Map.Entry<String, LayerSolved> e : new TreeMap<>(layers).entrySet()) {
                    rc.put(e.getKey(), e.getValue().getRelativeChange());
                    max = Math.max(max, e.getValue().getRelativeChange());
                }
                n.put("max_relative_change", done.containsKey(it) ? done.get(it).getMaxRelativeChange() : max);
            }
            n.put("layers_solved", layers.size());
            n.put("completed", done.containsKey(it));
            if (done.containsKey(it)) {
                n.put("wall_ms", (double) (done.get(it).getAtMillis() - state().startedAt(it)));
                n.put("inference_ms", state().inferenceNanos(it) / 1e6);
                n.put("solve_ms", layers.values().stream().mapToLong(LayerSolved::getSolveNanos).sum() / 1e6);
            }
        });
        return out;
    }

    /** What merge-report.json would say so far: the tasks, the iterations, and each layer's ω from its last solve. */
    ObjectNode report() {
        ObjectNode r = JSON.createObjectNode();
        ArrayNode adapters = r.putArray("adapters");
        if (state().spec() != null) {
            state().spec().getAdaptersList().forEach(a -> adapters.addObject().put("name", a.getName()));
        }
        ArrayNode its = r.putArray("iterations");
        changes().forEach(c -> {
            if (c.path("completed").asBoolean()) {
                its.add(c);
            }
        });
        ObjectNode layers = r.putObject("layers");
        new TreeMap<>(state().history()).forEach((it, solved) -> solved.forEach((layer, s) -> {
            if (s.getDiagnosticsMap().containsKey("omega")) {
                ArrayNode omega = layers.putObject(layer).putArray("omega");
                s.getDiagnosticsMap().get("omega").getValuesList().forEach(omega::add);
            }
        }));
        return r;
    }

    /** {@code /api/jobs/{id}}: the summary and every solve's changes. */
    ObjectNode toJson() {
        ObjectNode n = summary();
        n.set("changes", changes());
        return n;
    }

    /** The job without its per-solve history: what the job lists and page headers read. */
    ObjectNode summary() {
        SupervisorState s = state();
        ObjectNode n = JSON.createObjectNode().put("id", id()).put("state", stateName());
        if (s.spec() != null) {
            n.put("method", s.spec().getMethod()).put("adapters", s.spec().getAdaptersCount()).put("layers", s.spec().getLayersCount());
        }
        n.put("iteration", iteration()).put("iterations", iterations());
        n.put("units_done", s.running() ? s.unitsDone() : 0).put("units", s.running() ? s.units().size() : 0);
        n.put("layers_solved", s.running() ? s.solved().size() : 0);
        n.set("units_per_node", JSON.valueToTree(status.unitsPerNode()));
        n.set("reassigned", JSON.valueToTree(status.reassigned()));
        ArrayNode resumed = n.putArray("resumed");
        for (JobResumed r : status.resumed()) {
            resumed.addObject().put("node", r.getNode()).put("iteration", r.getIteration() + 1).put("at_millis", r.getAtMillis())
                    .put("reason", r.getError().isEmpty() ? "its node was lost" : r.getError());
        }
        n.put("events", status.events()).put("first_event_millis", status.firstMillis()).put("last_event_millis", status.lastMillis());
        output().ifPresent(o -> n.put("output", o));
        if (s.status() == SupervisorState.Status.FAILED) {
            n.put("error", s.outcome());
        }
        return n;
    }

    /** One journaled event as the console streams it. */
    static ObjectNode event(EventEnvelope e) {
        Message m = (Message) e.event();
        return JSON.createObjectNode().put("seq", e.sequenceNr()).put("at_millis", e.timestamp())
                .put("event", m.getDescriptorForType().getName()).put("text", Progress.describe(m));
    }
}
