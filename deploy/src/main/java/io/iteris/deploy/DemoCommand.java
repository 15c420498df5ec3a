package io.iteris.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.cluster.IterisNode;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.demo.DemoExample;
import io.iteris.core.demo.SkillKept;
import io.iteris.core.engine.IterationReport;
import io.iteris.core.engine.Merger;
import io.iteris.core.model.Calibration;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.TanhMlpRunner;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code iteris demo}: merges the small shipped example with IterIS and the baselines and prints how much
 * of each task's behaviour every merged model keeps on held-out inputs.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Merge the shipped example (3 task LoRAs on a small MLP) with IterIS and baselines, and compare.")
public final class DemoCommand implements Callable<Integer> {
    static final List<String> METHODS = List.of("iteris", "regmean", "ties", "task_arithmetic", "average");

    @Option(names = "--example", description = "example directory (default: examples/demo in the iteris home)")
    Path example;

    @Option(names = "--out", description = "where the merged adapters go (default: a directory under the system temp dir)")
    Path out;

    @Mixin
    EngineOptions engine = new EngineOptions();

    @Option(names = "--regenerate", hidden = true, description = "rewrite the example files from the generator, seed 7")
    boolean regenerate;

    @Override
    public Integer call() {
        Path dir = example != null ? example : Path.of(System.getProperty("iteris.home", ".")).resolve("examples/demo");
        if (regenerate) {
            DemoExample.generate(dir, 7);
            System.out.println("wrote the example to " + dir);
            return 0;
        }
        if (!Files.isDirectory(dir.resolve("adapters"))) {
            throw new IllegalArgumentException(dir + " holds no example (adapters/ missing); pass --example DIR");
        }
        Path outDir = out != null ? out : Path.of(System.getProperty("java.io.tmpdir"), "iteris-demo");
        System.out.printf("iteris demo: merging %d task LoRAs (%s) on a %d-layer tanh MLP, %d calibration samples per task,%n"
                        + "on the %s%n%n", DemoExample.TASKS.size(), String.join(", ", DemoExample.TASKS), DemoExample.LAYERS.size(),
                DemoExample.CALIBRATION_SAMPLES, engine.local() ? "local engine" : "actor engine (one node in this JVM, " + engine.workers + " inference workers)");
        Map<String, double[]> table = new LinkedHashMap<>();
        Merger.Result iteris = null;
        IterisNode node = engine.local() ? null : engine.start("demo-" + ActorEngine.newJobId());
        try {
            for (String method : METHODS) {
                List<IterationReport> reports = new ArrayList<>();
                MergeSettings s = settings(dir, outDir, method);
                Merger.Result r = engine.local() ? Merger.run(s, (report, merged) -> reports.add(report))
                        : new ActorEngine(node).submit(Merger.load(s), ActorEngine.newJobId(), (report, merged) -> reports.add(report));
                if (method.equals("iteris")) {
                    iteris = r;
                    StringBuilder line = new StringBuilder("IterIS convergence, max relative change of dW per solve:");
                    reports.stream().skip(1).forEach(rep -> line.append(String.format(" %.1e", rep.maxRelativeChange())));
                    System.out.println(line);
                }
                table.put(r.method().displayName(), evaluate(dir, r));
            }
        } finally {
            if (node != null) {
                node.close();
            }
        }
        printTable(table);
        System.out.printf("%nThe IterIS adapter (PEFT format) and its merge-report.json are in %s%n", iteris.out());
        System.out.println("Skill kept = 1 - |f_merged(x) - f_task(x)| / |f_base(x) - f_task(x)| on 64 held-out samples of each task:");
        System.out.println("1 means the merged model acts exactly like the task's own LoRA model; 0 means no better than the base.");
        return 0;
    }

    private static MergeSettings settings(Path dir, Path outDir, String method) {
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", method);
        m.put("iteris.merge.base", dir.resolve("base").toString());
        m.put("iteris.merge.calibration", dir.resolve("calibration.safetensors").toString());
        m.put("iteris.merge.out", outDir.resolve(method).toString());
        m.put("iteris.merge.overwrite", true);
        List<Map<String, Object>> adapters = new ArrayList<>();
        for (String task : DemoExample.TASKS) {
            adapters.add(Map.of("name", task, "path", dir.resolve("adapters").resolve(task).toString()));
        }
        m.put("iteris.merge.adapters", adapters);
        Config c = ConfigFactory.parseMap(m).withFallback(ConfigFactory.load());
        return MergeSettings.from(c);
    }

    private static double[] evaluate(Path dir, Merger.Result r) {
        ModelRunner runner = new TanhMlpRunner(MlpSpec.read(dir.resolve("base/model.json")), r.inputs().base(), DataType.DOUBLE);
        Calibration heldout = Calibration.open(dir.resolve("heldout.safetensors"));
        double[] row = new double[DemoExample.TASKS.size()];
        for (int i = 0; i < row.length; i++) {
            row[i] = SkillKept.of(runner, r.inputs(), r.outcome().deltas(), i,
                    heldout.samples(DemoExample.TASKS.get(i), i, runner.inputWidth()));
        }
        return row;
    }

    private static void printTable(Map<String, double[]> table) {
        System.out.printf("%n%-16s", "skill kept");
        DemoExample.TASKS.forEach(t -> System.out.printf(" %8s", t));
        System.out.printf(" %8s%n", "mean");
        table.forEach((method, row) -> {
            System.out.printf("%-16s", method);
            double sum = 0;
            for (double v : row) {
                System.out.printf(" %8.3f", v);
                sum += v;
            }
            System.out.printf(" %8.3f%n", sum / row.length);
        });
    }
}
