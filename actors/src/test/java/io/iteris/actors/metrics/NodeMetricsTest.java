package io.iteris.actors.metrics;

import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeMetricsTest {
    static final ActorTestKit kit = ActorTestKit.create();

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    static double value(String text, String series) {
        return text.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1).strip()))
                .findFirst().orElseThrow(() -> new AssertionError("no " + series + " in\n" + text));
    }

    @Test
    void persistedEventsMoveTheCountersInPrometheusNames() {
        NodeMetrics m = NodeMetrics.get(kit.system());
        assertSame(m, NodeMetrics.get(kit.system()), "one registry per actor system");
        m.onPersisted(IterationCompleted.newBuilder().setIteration(0).build());
        m.onPersisted(WorkUnitAssigned.getDefaultInstance()); // not counted: an assignment is not an outcome
        m.onPersisted(WorkUnitCompleted.newBuilder().setInferenceNanos(2_000_000_000L).setBytesSent(1000).build());
        m.onPersisted(WorkUnitCompleted.newBuilder().setInferenceNanos(20_000_000L).setBytesSent(500).build());
        m.onPersisted(WorkUnitReassigned.newBuilder().setReason("failed: out of memory at layer 3").build());
        m.onPersisted(WorkUnitReassigned.newBuilder().setReason("solver of layers.2.proj lacks statistics").build());
        m.onPersisted(LayerSolvedRecorded.newBuilder().setResult(LayerSolved.newBuilder().setSolveNanos(5_000_000L)).build());
        m.received(1200);
        m.jobs(Map.of("running", 2, "completed", 3));
        m.jobs(Map.of("completed", 4));
        String text = m.scrape();
        assertEquals(1, value(text, "iteris_iterations_completed_total"));
        assertEquals(2, value(text, "iteris_work_units_total{outcome=\"completed\"}"));
        assertEquals(2, value(text, "iteris_work_units_total{outcome=\"reassigned\"}"));
        assertEquals(1, value(text, "iteris_unit_reassignments_total{reason=\"failed\"}"), "a failure's message is not a label");
        assertEquals(1, value(text, "iteris_unit_reassignments_total{reason=\"a solver lacks statistics\"}"), "nor a layer's name");
        assertEquals(1500, value(text, "iteris_statistics_bytes_total{direction=\"sent\"}"));
        assertEquals(1200, value(text, "iteris_statistics_bytes_total{direction=\"received\"}"));
        assertEquals(2, value(text, "iteris_inference_seconds_count"));
        assertEquals(2.02, value(text, "iteris_inference_seconds_sum"), 1e-9);
        assertEquals(1, value(text, "iteris_inference_seconds_bucket{le=\"0.03\"}"), "the 20 ms unit");
        assertEquals(2, value(text, "iteris_inference_seconds_bucket{le=\"3.0\"}"), "and the 2 s one");
        assertEquals(1, value(text, "iteris_solve_seconds_count"));
        assertEquals(4, value(text, "iteris_jobs{state=\"completed\"}"));
        assertEquals(0, value(text, "iteris_jobs{state=\"running\"}"), "a state no job is in any more reads 0");
        assertTrue(value(text, "process_resident_memory_bytes") > 0);
        assertTrue(text.contains("jvm_memory_used_bytes{"), "JVM metrics");
    }
}
