package io.iteris.deploy;

import io.iteris.core.config.ConfigPaths;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.engine.Merger;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.node.IterisNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code iteris merge}: flags and an optional HOCON file onto {@code iteris.merge}, then one merge. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge PEFT LoRA adapters into one adapter. Flags override --config, which overrides reference.conf.")
public final class MergeCommand implements Callable<Integer> {

    @Option(names = "--config", description = "HOCON file with iteris.merge / iteris.methods settings; its relative paths are relative to it")
    Path config;

    @Option(names = "--base", description = "base model: .safetensors file, sharded *.index.json, or a directory")
    Path base;

    @Option(names = "--adapter", paramLabel = "NAME=DIR", description = "a task adapter (repeatable, in task order); NAME=DIR@COEF sets its manual coefficient")
    List<String> adapters = new ArrayList<>();

    @Option(names = "--calibration", description = "safetensors with <NAME>.input [S,T,d] per task (iteris, regmean)")
    Path calibration;

    @Option(names = "--calibration-text", paramLabel = "NAME=FILE",
            description = "calibrate from plain text instead: a task's texts (one per line, or .jsonl with \"text\"), tokenized with --tokenizer; repeatable")
    List<String> calibrationText = new ArrayList<>();

    @Option(names = "--tokenizer", description = "with --calibration-text: the model's tokenizer.json (default: tokenizer.json beside an ONNX base)")
    Path tokenizer;

    @Option(names = "--max-tokens", defaultValue = "128", description = "with --calibration-text: tokens per text at most (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--model", description = "model description (e2e.json); default: beside the base model")
    Path model;

    @Option(names = "--method", description = "iteris | regmean | ties | dare | task_arithmetic | average")
    String method;

    @Option(names = "--iterations", description = "IterIS solves (max_iter)")
    Integer iterations;

    @Option(names = "--rank", description = "output LoRA rank; 0 = sum of input ranks (exact)")
    Integer rank;

    @Option(names = "--output-format", description = "lora | dense")
    String outputFormat;

    @Option(names = "--precision", description = "forward-pass precision: float64 | float32")
    String precision;

    @Option(names = "--out", description = "output directory (written atomically)")
    Path out;

    @Option(names = "--overwrite", description = "replace --out if it exists")
    boolean overwrite;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "any setting, e.g. --set iteris.methods.iteris.alpha_1=1e-5")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--job-id", description = "the job's id; give an earlier job's id to resume it from its journal")
    String jobId;

    @Mixin
    EngineOptions engine = new EngineOptions();

    @Override
    public Integer call() {
        MergeSettings s = MergeSettings.from(config());
        boolean resume = jobId != null;
        if (resume && JobSpecs.jobIdProblem(jobId) != null) {
            throw new IllegalArgumentException("--job-id: " + JobSpecs.jobIdProblem(jobId));
        }
        if (engine.local()) {
            System.err.printf("merging %d adapters with %s in this process%n", s.adapters().size(), s.method());
            long t0 = System.nanoTime();
            Merger.LoadedJob job = Merger.load(s, engine.device(fileConfig()));
            double loadMillis = (System.nanoTime() - t0) / 1e6;
            Merger.Result r;
            try (JobProgressView view = JobProgressView.start("merge", job.solves(), System.err)) {
                r = Merger.run(job, loadMillis, (report, merged) -> view.onIteration(report, job.solves()));
            }
            print(r);
            return 0;
        }
        // the client checks the inputs and reads the calibration, but leaves running the model to the workers
        Merger.LoadedJob job = Merger.loadForSubmission(s, !resume);
        String id = resume ? jobId : ActorEngine.newJobId();
        System.err.printf("merging %d adapters with %s on the actor engine, job %s%n", s.adapters().size(), s.method(), id);
        try (IterisNode node = engine.start(id, fileConfig())) {
            Merger.Result r;
            try (JobProgressView view = JobProgressView.start("merge", job.solves(), System.err)) {
                r = new ActorEngine(node, view::onProgress, Duration.ofDays(7)).submit(job, id, null);
            }
            print(r);
        }
        return 0;
    }

    private static void print(Merger.Result r) {
        System.out.printf("wrote %s (%s, %d layers, %.2f s)%n", r.out(), r.method().displayName(),
                r.inputs().layers().size(), r.outcome().totalNanos() / 1e9);
        if (!r.energyKept().isEmpty()) {
            double min = r.energyKept().values().stream().mapToDouble(Double::doubleValue).min().orElse(1);
            System.out.printf("LoRA re-factorisation keeps at least %.6f of every layer's dW energy%n", min);
        }
        System.out.println("report: " + r.out().resolve(Merger.REPORT_FILE));
    }

    Config config() {
        Map<String, Object> flags = new HashMap<>();
        putIfSet(flags, "iteris.merge.base", base);
        putIfSet(flags, "iteris.merge.calibration", calibration);
        if (!calibrationText.isEmpty()) {
            if (calibration != null) {
                throw new IllegalArgumentException("give --calibration or --calibration-text, not both");
            }
            flags.put("iteris.merge.calibration", textCalibration().toString());
        }
        putIfSet(flags, "iteris.merge.model", model);
        putIfSet(flags, "iteris.merge.out", out);
        putIfSet(flags, "iteris.merge.method", method);
        putIfSet(flags, "iteris.merge.rank", rank);
        putIfSet(flags, "iteris.merge.output-format", outputFormat);
        putIfSet(flags, "iteris.merge.precision", precision);
        putIfSet(flags, "iteris.methods.iteris.iterations", iterations);
        if (overwrite) {
            flags.put("iteris.merge.overwrite", true);
        }
        if (!adapters.isEmpty()) {
            flags.put("iteris.merge.adapters", adapterList());
        }
        Config c = ConfigFactory.parseMap(flags, "command line");
        for (Map.Entry<String, String> e : settings.entrySet()) {
            c = ConfigFactory.parseString(e.getKey() + " = " + e.getValue(), ConfigParseOptions.defaults().setOriginDescription("--set"))
                    .withFallback(c);
        }
        return c.withFallback(fileConfig()).withFallback(ConfigFactory.load());
    }

    /** The --config file, its paths made relative to it (empty without one); its engine settings configure the node too. */
    Config fileConfig() {
        return config == null ? ConfigFactory.empty()
                : ConfigPaths.resolveRelative(ClusterOptions.file(config), config.toAbsolutePath().getParent());
    }

    /**
     * Tokenizes --calibration-text into a calibration file beside the output (on a cluster the output's directory is
     * shared, so every node reads it), named after the output.
     */
    private Path textCalibration() {
        if (out == null) {
            throw new IllegalArgumentException("--calibration-text needs --out (the calibration is written beside it)");
        }
        Path tok = tokenizer;
        if (tok == null) {
            if (base == null || !base.getFileName().toString().endsWith(".onnx")) {
                throw new IllegalArgumentException("--calibration-text needs --tokenizer (tokenizer.json is looked for beside an ONNX --base)");
            }
            tok = base.toAbsolutePath().resolveSibling("tokenizer.json");
        }
        if (base != null && base.getFileName().toString().endsWith(".onnx")) {
            // a broken export (its external data's locations, offsets, lengths) is refused before anything is written
            io.iteris.core.model.onnx.OnnxModelFile.open(base);
        }
        Path file = out.toAbsolutePath().resolveSibling(out.getFileName() + ".calibration.safetensors");
        Path written = io.iteris.core.model.TextCalibration.write(tok, CalibrateCommand.parse(calibrationText), maxTokens, null, file);
        System.err.printf("calibration: %d tasks tokenized with %s into %s%n", calibrationText.size(), tok, written);
        return written;
    }

    private List<Map<String, Object>> adapterList() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (String a : adapters) {
            int eq = a.indexOf('=');
            if (eq <= 0 || eq == a.length() - 1) {
                throw new IllegalArgumentException("--adapter wants NAME=DIR, got '" + a + "'");
            }
            String name = a.substring(0, eq);
            String dir = a.substring(eq + 1);
            Map<String, Object> m = new LinkedHashMap<>();
            int at = dir.lastIndexOf('@');
            if (at > 0) {
                try {
                    m.put("manual_coef", Double.parseDouble(dir.substring(at + 1)));
                    dir = dir.substring(0, at);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--adapter " + a + ": '" + dir.substring(at + 1) + "' after @ is not a number");
                }
            }
            m.put("name", name);
            m.put("path", dir);
            list.add(m);
        }
        return list;
    }

    private static void putIfSet(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value instanceof Path p ? p.toString() : value);
        }
    }
}
