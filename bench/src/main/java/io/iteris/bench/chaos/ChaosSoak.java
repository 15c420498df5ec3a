package io.iteris.bench.chaos;

import io.iteris.core.AtomicFiles;
import io.iteris.bench.ExampleJobs;
import io.iteris.core.config.MergeSettings;
import io.iteris.bench.data.ImageTasks;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.Merger;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Chaos runs over the shipped Fashion-MNIST merge (five tasks, 64 calibration images each in shards of 16,
 * four IterIS solves), each checked against a clean run of the local engine.
 */
public final class ChaosSoak {
    static final int ITERATIONS = 4;
    private ChaosSoak() {
    }

    public static List<ChaosRun.Outcome> run(Path example, Path dir, List<ChaosScenario> scenarios, int runs, long seed, PrintStream log) {
        return run(example, dir, scenarios, runs, seed, log, o -> { });
    }

    /** As above; {@code onRun} hears each run's outcome as it ends. */
    public static List<ChaosRun.Outcome> run(Path example, Path dir, List<ChaosScenario> scenarios, int runs, long seed, PrintStream log,
                                             java.util.function.Consumer<ChaosRun.Outcome> onRun) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path calibration = ImageTasks.load(example.resolve("data")).writeCalibration(dir.resolve("calibration.safetensors"), 64);
        MergeSettings reference = ExampleJobs.settings(example, calibration, dir.resolve("reference"), ITERATIONS);
        Merger.LoadedJob referenceJob = Merger.load(reference);
        MergeOutcome clean = MergeEngine.LOCAL.merge(reference, null);
        Merger.Result published = Merger.publish(referenceJob, clean, 0);
        byte[] adapter;
        try {
            adapter = Files.readAllBytes(published.out().resolve("adapter_model.safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, INDArray> deltas = clean.deltas();
        List<ChaosRun.Outcome> out = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            ChaosScenario scenario = scenarios.get(i % scenarios.size());
            Merger.LoadedJob job = Merger.load(ExampleJobs.settings(example, calibration, dir.resolve("run-" + i).resolve("out"), ITERATIONS));
            ChaosRun.Outcome o = ChaosRun.run(scenario, seed + i, job, deltas, adapter, dir.resolve("run-" + i), dir.resolve("tls"), log);
            log.printf(Locale.ROOT, "  -> %s: completed %s, identical %s, journal consistent %s, %.1f s, recovery %.1f s, %s%n",
                    scenario, o.completed(), o.identical(), o.journalConsistent(), o.seconds(), o.recoverySeconds(), o.recorded());
            out.add(o);
            onRun.accept(o);
        }
        return out;
    }

    /** scenario | runs | completed | identical | mean time | worst recovery time */
    public static String table(List<ChaosRun.Outcome> outcomes) {
        StringBuilder sb = new StringBuilder("| scenario | runs | completed | identical | mean time (s) | worst recovery (s) |\n|---|---:|---:|---:|---:|---:|\n");
        for (ChaosScenario s : ChaosScenario.values()) {
            List<ChaosRun.Outcome> os = outcomes.stream().filter(o -> o.scenario() == s).toList();
            if (os.isEmpty()) {
                continue;
            }
            sb.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.1f | %.1f |%n", s.name().toLowerCase(Locale.ROOT), os.size(),
                    os.stream().filter(ChaosRun.Outcome::completed).count(),
                    os.stream().filter(o -> o.identical() && o.journalConsistent()).count(),
                    os.stream().mapToDouble(ChaosRun.Outcome::seconds).average().orElse(0),
                    os.stream().mapToDouble(ChaosRun.Outcome::recoverySeconds).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN)));
        }
        return sb.toString();
    }

    static void writeTable(Path file, List<ChaosRun.Outcome> outcomes) {
        AtomicFiles.writeString(file, table(outcomes));
    }
}
