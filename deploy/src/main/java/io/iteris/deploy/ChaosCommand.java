package io.iteris.deploy;

import io.iteris.bench.Installation;
import io.iteris.bench.chaos.ChaosRun;
import io.iteris.bench.chaos.ChaosScenario;
import io.iteris.bench.chaos.ChaosSoak;
import io.iteris.core.progress.LiveProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code iteris chaos}: merges on a three-process cluster while nodes are killed or paused; checks every result. */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        description = "Soak test: real node processes on 127.0.0.1, SIGKILL/SIGSTOP at seeded random points, results checked bit for bit.")
public final class ChaosCommand implements Callable<Integer> {
    @Option(names = "--runs", defaultValue = "5", description = "runs, cycling through the scenarios")
    int runs;

    @Option(names = "--seed", defaultValue = "1", description = "seed of the kill points (run i uses seed + i)")
    long seed;

    @Option(names = "--scenario", split = ",", description = "scenarios to cycle through (default: all): ${COMPLETION-CANDIDATES}")
    List<ChaosScenario> scenarios;

    @Option(names = "--example", description = "models and data (default: examples/fashion in the iteris home)")
    Path example;

    @Option(names = "--work-dir", description = "where runs keep their journals, stores and node logs (default: a new temp dir)")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        Path dir = workDir != null ? workDir : Files.createTempDirectory("iteris-chaos");
        List<ChaosScenario> which = scenarios == null || scenarios.isEmpty() ? Arrays.asList(ChaosScenario.values()) : scenarios;
        System.out.printf("chaos: %d runs, seed %d, in %s%n", runs, seed, dir);
        List<ChaosRun.Outcome> outcomes;
        try (LiveProgress progress = LiveProgress.start("chaos", runs, "runs", System.out)) {
            int[] passed = {0, 0};
            outcomes = ChaosSoak.run(example != null ? example : Installation.home().resolve("examples/fashion"), dir, which, runs, seed,
                    System.out, o -> {
                        passed[0] += o.passed() ? 1 : 0;
                        passed[1]++;
                        progress.update(passed[1], runs, passed[0] + " of " + passed[1] + " runs passed");
                    });
        }
        System.out.println();
        System.out.print(ChaosSoak.table(outcomes));
        return outcomes.stream().allMatch(ChaosRun.Outcome::passed) ? 0 : 1;
    }
}
