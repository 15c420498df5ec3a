package io.iteris.actors.metrics;

import com.google.protobuf.Message;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * This node's metrics, one registry per actor system (several nodes may share a JVM in tests), scraped in the
 * Prometheus text format by the console's {@code /metrics}.
 *
 * <p>Job counters move when the supervisor on this node persists an event ({@link #onPersisted}), never on
 * replay, so summed over the nodes of a cluster they equal the journal's counts even after a supervisor moved.
 * The solve and inference histograms read the times the events carry (measured where the work ran). Bytes
 * received are counted by the solvers as chunks arrive, so sent and received differ by what was resent.
 */
public final class NodeMetrics implements Extension {
    private static final ExtensionId<NodeMetrics> ID = new ExtensionId<>() {
        @Override
        public NodeMetrics createExtension(ActorSystem<?> system) {
            NodeMetrics m = new NodeMetrics();
            system.getWhenTerminated().thenRun(m::close);
            return m;
        }
    };

    /** Histogram buckets from 1 ms to an hour, a few per decade: solves and units span that range across model sizes. */
    private static final Duration[] BUCKETS = {Duration.ofMillis(1), Duration.ofMillis(3), Duration.ofMillis(10), Duration.ofMillis(30),
            Duration.ofMillis(100), Duration.ofMillis(300), Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(10),
            Duration.ofSeconds(30), Duration.ofSeconds(100), Duration.ofSeconds(300), Duration.ofSeconds(1000), Duration.ofHours(1)};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private final Map<String, AtomicLong> jobs = new ConcurrentHashMap<>();
    private final Counter iterations;
    private final Counter unitsCompleted;
    private final Counter unitsReassigned;
    private final Counter bytesSent;
    private final Counter bytesReceived;
    private final Timer solve;
    private final Timer inference;

    private NodeMetrics() {
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        // job data lives off-heap (ND4J buffers): the resident size is what grows, not the heap
        Gauge.builder("process.resident.memory", () -> ProcessMemory.bytes("self", "VmRSS")).baseUnit("bytes")
                .description("Resident set size of the node's process (VmRSS)").register(registry);
        iterations = Counter.builder("iteris.iterations.completed").description("Iterations completed by supervisors on this node")
                .register(registry);
        unitsCompleted = units("completed");
        unitsReassigned = units("reassigned");
        bytesSent = bytes("sent");
        bytesReceived = bytes("received");
        solve = Timer.builder("iteris.solve").description("Time to solve one layer (per solve recorded by a supervisor on this node)")
                .serviceLevelObjectives(BUCKETS).register(registry);
        inference = Timer.builder("iteris.inference")
                .description("Inference and statistics time of one work unit (per unit recorded by a supervisor on this node)")
                .serviceLevelObjectives(BUCKETS).register(registry);
    }

    public static NodeMetrics get(ActorSystem<?> system) {
        return ID.apply(system);
    }

    private Counter units(String outcome) {
        return Counter.builder("iteris.work.units").tag("outcome", outcome).description("Work units by outcome").register(registry);
    }

    private Counter bytes(String direction) {
        return Counter.builder("iteris.statistics.bytes").tag("direction", direction)
                .description("Statistics bytes: sent by workers (as recorded with their units), received by solvers").register(registry);
    }

    /** Counts one event the supervisor of a job on this node has just persisted. */
    public void onPersisted(Message event) {
        if (event instanceof IterationCompleted) {
            iterations.increment();
        } else if (event instanceof WorkUnitCompleted c) {
            unitsCompleted.increment();
            bytesSent.increment(c.getBytesSent());
            inference.record(c.getInferenceNanos(), TimeUnit.NANOSECONDS);
        } else if (event instanceof WorkUnitReassigned r) {
            unitsReassigned.increment();
            Counter.builder("iteris.unit.reassignments").tag("reason", reason(r.getReason()))
                    .description("Work units reassigned, by reason").register(registry).increment();
        } else if (event instanceof LayerSolvedRecorded s) {
            solve.record(s.getResult().getSolveNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * A reassignment's reason as a label with few values: the layer a solver serves and a failure's message
     * would make one series per layer or error.
     */
    public static String reason(String reason) {
        String r = withoutLayer(reason);
        int colon = r.indexOf(':');
        return colon < 0 ? r : r.substring(0, colon);
    }

    /** A reassignment's reason with the solver's layer left out ("a solver lacks statistics"), as {@code iteris status} counts them. */
    public static String withoutLayer(String reason) {
        return reason.replaceAll("solver of \\S+", "a solver");
    }

    /** Statistics bytes a solver on this node accepted. */
    public void received(long bytes) {
        bytesReceived.increment(bytes);
    }

    /**
     * The journal's jobs by state (lower-case state names), set by whoever reads the journal: the console, before
     * each scrape. A state once seen stays as a series, at 0 when no job is in it.
     */
    public void jobs(Map<String, Integer> byState) {
        byState.keySet().forEach(s -> jobs.computeIfAbsent(s, k -> {
            AtomicLong n = new AtomicLong();
            Gauge.builder("iteris.jobs", n, AtomicLong::doubleValue).tag("state", k)
                    .description("Jobs in the journal by state, as of the last scrape (the same on every node of a cluster)")
                    .register(registry);
            return n;
        }));
        jobs.forEach((s, n) -> n.set(byState.getOrDefault(s, 0)));
    }

    /** Everything in the Prometheus text format (version 0.0.4). */
    public String scrape() {
        return registry.scrape();
    }

    private void close() {
        gc.close();
        registry.close();
    }
}
