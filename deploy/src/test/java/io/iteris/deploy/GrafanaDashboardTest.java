package io.iteris.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iteris.actors.metrics.NodeMetrics;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** deploy/grafana/iteris.json asks only for series a node's /metrics serves. */
class GrafanaDashboardTest {
    @Test
    void everyMetricTheDashboardQueriesIsServed() throws Exception {
        JsonNode dash = new ObjectMapper().readTree(Path.of("..").resolve("deploy/grafana/iteris.json").toFile());
        Set<String> asked = new TreeSet<>();
        Matcher m = Pattern.compile("\\b((?:iteris|process|jvm|system)_[a-z_]+)").matcher(dash.toString());
        while (m.find()) {
            asked.add(m.group(1));
        }
        assertTrue(asked.size() >= 8, asked.toString());
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "grafana-test");
        try {
            NodeMetrics metrics = NodeMetrics.get(system);
            // a reassignment's series appears with the first one
            metrics.onPersisted(WorkUnitReassigned.newBuilder().setReason("overdue").build());
            metrics.onPersisted(WorkUnitCompleted.newBuilder().setInferenceNanos(1).build());
            metrics.onPersisted(LayerSolvedRecorded.newBuilder().setResult(LayerSolved.newBuilder().setSolveNanos(1)).build());
            metrics.jobs(Map.of("running", 1));
            Set<String> served = new TreeSet<>();
            metrics.scrape().lines().filter(l -> !l.startsWith("#") && !l.isBlank()).forEach(l -> served.add(l.split("[{ ]")[0]));
            Set<String> missing = new TreeSet<>(asked);
            missing.removeAll(served);
            assertEquals(Set.of(), missing, "queried by the dashboard but not served");
        } finally {
            system.terminate();
        }
    }
}
