package io.iteris.deploy.chaos;

import io.iteris.bench.chaos.ChaosRun;
import io.iteris.bench.chaos.ChaosScenario;
import io.iteris.bench.chaos.ChaosSoak;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fixed chaos set that CI runs (here, where the node processes' command line is on the class path): each scenario once, on real node processes, with SIGKILL and SIGSTOP.
 * Every merge must complete with the clean run's bytes, and the journal must say what happened.
 * The longer randomised soak is {@code bin/iteris chaos --runs N}.
 */
class ChaosTest {
    @TempDir
    Path tmp;

    @Test
    void everyScenarioCompletesWithTheCleanRunsBytesAndTheJournalRecordsIt() {
        Path example = Path.of("..", "examples", "fashion").toAbsolutePath().normalize();
        List<ChaosScenario> all = Arrays.asList(ChaosScenario.values());
        List<ChaosRun.Outcome> outcomes = ChaosSoak.run(example, tmp, all, all.size(), 11, System.out);
        System.out.print(ChaosSoak.table(outcomes));
        for (ChaosRun.Outcome o : outcomes) {
            assertTrue(o.completed(), o.scenario() + ": " + o.failure());
            assertTrue(o.identical(), o.scenario() + ": the result differs from the clean run");
            assertTrue(o.journalConsistent(), o.scenario() + ": an iteration was started, completed or solved twice");
            assertFalse(o.recorded().isEmpty(), o.scenario() + ": the journal records no failure handling");
        }
        assertTrue(outcomes.stream().filter(o -> o.scenario() == ChaosScenario.CRASH_AFTER_PUBLISH)
                .allMatch(o -> o.recorded().stream().anyMatch(r -> r.startsWith("resumed"))),
                "a supervisor whose node died between publishing and recording it resumes, finds its output, and completes");
        assertTrue(outcomes.stream().filter(o -> o.scenario() == ChaosScenario.KILL_SUPERVISOR_NODE)
                .allMatch(o -> o.recorded().stream().anyMatch(r -> r.startsWith("resumed"))), "a supervisor resumes from its journal");
        // The unit the killed worker held may finish in the instant before the kill; its statistics then die
        // with the node's solvers instead, so the journal shows a reassignment for one reason or the other.
        assertTrue(outcomes.stream().filter(o -> o.scenario() == ChaosScenario.KILL_WORKER_NODE)
                .allMatch(o -> o.recorded().stream().anyMatch(r -> r.startsWith("reassigned"))), "the lost node's work is redone");
    }
}
