package io.iteris.deploy;

import io.iteris.bench.Installation;
import io.iteris.core.config.ConfigPaths;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.node.IterisNode;
import io.iteris.core.AtomicFiles;
import io.iteris.core.config.MergeSettings;
import io.iteris.bench.data.ImageSet;
import io.iteris.bench.data.ImageTasks;
import io.iteris.core.engine.Merger;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.TanhMlpRunner;
import io.iteris.bench.train.Accuracy;
import io.iteris.bench.train.FashionLoras;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code iteris demo}: merges the five shipped Fashion-MNIST task LoRAs with IterIS on the actor engine,
 * then with three baselines, and prints each task's test accuracy.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Merge five real task LoRAs (Fashion-MNIST variants and MNIST) with IterIS and baselines, and compare accuracy.")
public final class DemoCommand implements Callable<Integer> {
    static final List<String> METHODS = List.of("iteris", "regmean", "ties", "task_arithmetic");
    static final int CALIBRATION = 32;

    @Option(names = "--example", description = "example directory (default: examples/fashion in the iteris home)")
    Path example;

    @Option(names = "--out", description = "where the merged adapters and demo-report.md go (default: under the system temp dir)")
    Path out;

    @Mixin
    EngineOptions engine = new EngineOptions();

    @Override
    public Integer call() {
        Path dir = example != null ? example : Installation.home().resolve("examples/fashion");
        Path outDir = (out != null ? out : Path.of(System.getProperty("java.io.tmpdir"), "iteris-demo")).toAbsolutePath();
        ImageTasks data = ImageTasks.load(dir.resolve("data"));
        Path calibration = data.writeCalibration(outDir.resolve("calibration.safetensors"), CALIBRATION);
        System.out.printf("iteris demo: merging %d task LoRAs (%s) into one, %d unlabelled images per task,%n"
                        + "on the %s%n", ImageTasks.LORA_TASKS.size(), String.join(", ", names()), CALIBRATION,
                engine.local() ? "local engine" : "actor engine (one node in this JVM)");
        Map<String, Merger.Result> results = new LinkedHashMap<>();
        IterisNode node = engine.local() ? null : engine.start("demo-" + ActorEngine.newJobId());
        if (node != null) {
            System.out.printf("(%d inference workers)%n", node.settings().workersPerNode());
        }
        try {
            for (String method : METHODS) {
                MergeSettings s = settings(dir, calibration, outDir.resolve(method), method);
                System.out.printf("%s:%n", method);
                Merger.LoadedJob job = Merger.load(s);
                try (JobProgressView view = JobProgressView.start(method, job.solves(), System.out)) {
                    results.put(method, engine.local() ? Merger.run(job, 0, (report, merged) -> view.onIteration(report, job.solves()))
                            : new ActorEngine(node, view::onProgress, Duration.ofHours(1)).submit(job, ActorEngine.newJobId(), null));
                }
            }
        } finally {
            if (node != null) {
                node.close();
            }
        }
        String table = table(dir, data, results);
        System.out.println();
        System.out.print(table);
        AtomicFiles.writeString(outDir.resolve("demo-report.md"), "# iteris demo\n\nTest accuracy per task (" + CALIBRATION
                + " calibration images per task; normalised = merged ÷ the task's own LoRA).\n\n" + table
                + "\nThe merged adapters are the PEFT directories beside this file, each with its merge-report.json.\n");
        System.out.printf("%nThe IterIS adapter and its merge-report.json: %s%nThis table: %s%n"
                        + "The full benchmark (tuning on a validation split, every method, pairs and triples, charts): "
                        + "bin/iteris bench quality --out DIR%n", outDir.resolve("iteris"), outDir.resolve("demo-report.md"));
        return 0;
    }

    static List<String> names() {
        return ImageTasks.LORA_TASKS.stream().map(ImageTasks.Task::name).toList();
    }

    private static MergeSettings settings(Path dir, Path calibration, Path out, String method) {
        Config file = ConfigPaths.resolveRelative(ConfigFactory.parseFile(dir.resolve("merge.conf").toFile()), dir.toAbsolutePath());
        Config c = file.withValue("iteris.merge.method", ConfigValueFactory.fromAnyRef(method))
                .withValue("iteris.merge.calibration", ConfigValueFactory.fromAnyRef(calibration.toString()))
                .withValue("iteris.merge.out", ConfigValueFactory.fromAnyRef(out.toString()))
                .withValue("iteris.merge.overwrite", ConfigValueFactory.fromAnyRef(true));
        return MergeSettings.from(c.withFallback(ConfigFactory.load()));
    }

    private static String table(Path dir, ImageTasks data, Map<String, Merger.Result> results) {
        Merger.Result any = results.values().iterator().next();
        ModelRunner runner = new TanhMlpRunner(MlpSpec.read(dir.resolve("base/model.json")), any.inputs().base(), DataType.DOUBLE);
        List<ImageTasks.Task> tasks = ImageTasks.LORA_TASKS;
        Map<String, double[]> rows = new LinkedHashMap<>();
        double[] own = new double[tasks.size()];
        double[] base = new double[tasks.size()];
        Map<String, INDArray> w0 = new LinkedHashMap<>();
        any.inputs().layers().forEach(l -> w0.put(l, any.inputs().w0(l)));
        for (int i = 0; i < tasks.size(); i++) {
            ImageSet test = data.split(tasks.get(i), ImageTasks.Split.TEST);
            own[i] = Accuracy.of(runner, any.inputs().taskWeights(i), test.features(), test.labels());
            base[i] = Accuracy.of(runner, any.inputs().mergedWeights(FashionLoras.zeroDeltas(w0)), test.features(), test.labels());
        }
        rows.put("base model", base);
        rows.put("each task's own LoRA", own);
        for (Map.Entry<String, Merger.Result> e : results.entrySet()) {
            double[] acc = new double[tasks.size()];
            for (int i = 0; i < tasks.size(); i++) {
                ImageSet test = data.split(tasks.get(i), ImageTasks.Split.TEST);
                acc[i] = Accuracy.of(runner, e.getValue().inputs().mergedWeights(e.getValue().outcome().deltas()), test.features(), test.labels());
            }
            rows.put(e.getValue().method().displayName() + " merge", acc);
        }
        StringBuilder sb = new StringBuilder(String.format("| %-22s |", "test accuracy"));
        names().forEach(n -> sb.append(String.format(" %8s |", n)));
        sb.append("     mean | normalised |\n|").append("-".repeat(24)).append("|");
        names().forEach(n -> sb.append("---------:|"));
        sb.append("---------:|-----------:|\n");
        rows.forEach((name, acc) -> {
            sb.append(String.format("| %-22s |", name));
            double sum = 0;
            double norm = 0;
            for (int i = 0; i < acc.length; i++) {
                sb.append(String.format(Locale.ROOT, " %8.3f |", acc[i]));
                sum += acc[i];
                norm += acc[i] / own[i];
            }
            sb.append(String.format(Locale.ROOT, " %8.3f | %10.3f |%n", sum / acc.length, norm / acc.length));
        });
        return sb.toString();
    }
}
