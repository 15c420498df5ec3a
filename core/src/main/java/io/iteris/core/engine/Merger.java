package io.iteris.core.engine;

import io.iteris.core.AtomicFiles;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.export.DenseExporter;
import io.iteris.core.export.LoraExporter;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.merge.MergeMethods;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.Calibration;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.TanhMlpRunner;
import io.iteris.core.model.onnx.Device;
import io.iteris.core.model.onnx.OnnxModelFile;
import io.iteris.core.model.onnx.OnnxModelRunner;
import io.iteris.core.model.onnx.OnnxTensorSource;
import io.iteris.core.peft.PeftAdapter;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One merge from settings to a published output directory: {@link #load} reads and checks every input,
 * an engine merges ({@link LocalMergeEngine} here, the actor engine in a cluster), and {@link #publish}
 * writes the adapter and {@code merge-report.json} to a staging directory renamed into place only when all
 * of it is written.
 */
public final class Merger {
    public static final String REPORT_FILE = "merge-report.json";
    public static final String REPORT_PAGE = "report.html";

    private Merger() {
    }

    /**
     * Everything a merge reads, loaded and checked: the method, the base weights and the adapters, and when the method
     * runs the model, its calibration samples (per task) and the running model. A layer solver and the publisher hold
     * neither ({@link #loadMergeInputs}); a client submitting to a cluster holds the samples but starts no model
     * ({@link #loadForSubmission}); a local run and an inference worker hold both ({@link #withData}).
     *
     * @param model   the running model, when this job started one
     * @param samples per task, its calibration samples [S, T, d]; empty when the job holds none
     */
    public record LoadedJob(MergeSettings settings, MergeMethod method, MergeInputs inputs, Optional<ModelRunner> model,
                            List<INDArray> samples) {
        public LoadedJob {
            Objects.requireNonNull(settings, "settings");
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(inputs, "inputs");
            Objects.requireNonNull(model, "model");
            samples = List.copyOf(samples);
        }

        /** The running model; refused, naming the method, when this job started none. */
        public ModelRunner runner() {
            return model.orElseThrow(() -> new IllegalStateException("this job of method '" + method.name()
                    + "' holds no running model (loaded " + (needsData() ? "without it" : "for a method that runs none") + ")"));
        }

        public boolean needsData() {
            return method.dataNeeds() != MergeMethod.DataNeeds.NONE;
        }

        /** This job merged here (the model and samples it holds, when its method runs the model). */
        public LocalMergeEngine localEngine() {
            return new LocalMergeEngine(inputs, method, model.orElse(null), needsData() ? samples : null, settings.shardSize());
        }

        /** Solves this job runs. */
        public int solves() {
            return IterationPolicy.solves(method);
        }
    }

    public record Result(Path out, MergeMethod method, MergeInputs inputs, MergeOutcome outcome, Map<String, Double> energyKept) {
    }

    /** Runs the whole merge in this process. */
    public static Result run(MergeSettings s, MergeEngine.Listener listener) {
        long t0 = System.nanoTime();
        LoadedJob job = load(s);
        return run(job, (System.nanoTime() - t0) / 1e6, listener);
    }

    /** Runs a loaded job in this process; {@code loadMillis} is how long loading took (for the report). */
    public static Result run(LoadedJob job, double loadMillis, MergeEngine.Listener listener) {
        MergeOutcome outcome = job.localEngine().run(listener);
        return publish(job, outcome, loadMillis);
    }

    /** Reads and checks every input; fails before any work when something is missing or wrong. */
    public static LoadedJob load(MergeSettings s) {
        return load(s, Device.CPU);
    }

    /** As above, the model (if the method runs one) on {@code device}. */
    public static LoadedJob load(MergeSettings s, Device device) {
        checkOutput(s);
        return withData(loadMergeInputs(s), device);
    }

    /**
     * The method and the checked base weights and adapters, without the model or the calibration: what a layer
     * solver and the publisher need (its {@link LoadedJob#model()} and {@link LoadedJob#samples()} are empty). It does
     * not check the output folder ({@link #load} does).
     */
    public static LoadedJob loadMergeInputs(MergeSettings s) {
        if (s.base() == null) {
            throw new IllegalArgumentException("no base model given (--base or iteris.merge.base)");
        }
        if (s.adapters().isEmpty()) {
            throw new IllegalArgumentException("no adapters given (--adapter NAME=DIR or iteris.merge.adapters)");
        }
        MergeMethod method = MergeMethods.create(s.method(), s.root());
        BaseModel base = BaseModel.open(s.base(), s.onnxModuleNames());
        List<NamedAdapter> adapters = new ArrayList<>();
        for (MergeSettings.AdapterSpec a : s.adapters()) {
            adapters.add(new NamedAdapter(a.name(), PeftAdapter.load(a.path()), a.manualCoef()));
        }
        return new LoadedJob(s, method, MergeInputs.prepare(base, adapters), Optional.empty(), List.of());
    }

    /** The job with its method prepared for its layers ({@link MergeMethod#prepare}), as a layer solver needs it. */
    public static LoadedJob prepared(LoadedJob job) {
        MergeMethod m = job.method().prepare(job.inputs().layerInputs());
        return m == job.method() ? job : new LoadedJob(job.settings(), m, job.inputs(), job.model(), job.samples());
    }

    /** A job loaded by {@link #loadMergeInputs} with the model and calibration its method runs added (when it runs any). */
    public static LoadedJob withData(LoadedJob job) {
        return withData(job, Device.CPU);
    }

    /** As above, an ONNX model run on {@code device}. */
    public static LoadedJob withData(LoadedJob job, Device device) {
        if (job.model().isPresent() || !job.needsData()) {
            return job;
        }
        MergeSettings s = job.settings();
        ModelRunner runner = runnerFor(s, job.inputs().base(), job.inputs(), device);
        try {
            return new LoadedJob(s, job.method(), job.inputs(), Optional.of(runner), calibrationFor(s, job.inputs(), runner));
        } catch (RuntimeException e) {
            runner.close();
            throw e;
        }
    }

    /**
     * What a client submitting a job to a cluster needs: the checked inputs and the calibration, without starting
     * the model (no ONNX Runtime session in the client: at LLM size that would be the whole model): its
     * {@link LoadedJob#model()} is empty.
     */
    public static LoadedJob loadForSubmission(MergeSettings s, boolean checkOutput) {
        if (checkOutput) {
            checkOutput(s);
        }
        LoadedJob job = loadMergeInputs(s);
        if (job.method().dataNeeds() == MergeMethod.DataNeeds.NONE) {
            return job;
        }
        Path spec = modelDescription(s);
        int width;
        long vocabulary = 0;
        if (spec.getFileName().toString().endsWith(".onnx")) {
            width = 1;
            vocabulary = io.iteris.core.model.onnx.OnnxGraphEditor.vocabulary(onnxModel(spec, job.inputs().base()));
        } else {
            width = MlpSpec.read(spec).dims()[0];
        }
        return new LoadedJob(s, job.method(), job.inputs(), Optional.empty(), calibrationFor(s, job.inputs(), width, vocabulary));
    }

    /** Refuses a missing output, or an existing output directory unless overwriting. */
    public static void checkOutput(MergeSettings s) {
        if (s.out() == null) {
            throw new IllegalArgumentException("no output directory given (--out or iteris.merge.out)");
        }
        if (Files.exists(s.out()) && !s.overwrite()) {
            throw new IllegalArgumentException(s.out() + " already exists; choose another output or pass --overwrite");
        }
    }

    /** Writes the merged adapter and its report, publishing the output directory atomically. */
    public static Result publish(LoadedJob job, MergeOutcome outcome, double loadMillis) {
        return publish(job, outcome, loadMillis, null);
    }

    /**
     * As above, for a job with an id (the actor engine): the output records the job and its files' hashes, and an
     * output that this job already published completely is kept as it is (the publish is idempotent).
     */
    public static Result publish(LoadedJob job, MergeOutcome outcome, double loadMillis, String jobId) {
        MergeSettings s = job.settings();
        if (PublishedOutput.ownedBy(s.out(), jobId)) {
            return new Result(s.out(), job.method(), job.inputs(), outcome, MergeReport.energyKept(s.out().resolve(REPORT_FILE)));
        }
        long t0 = System.nanoTime();
        Path staging = AtomicFiles.stagingDirectory(s.out());
        try {
            Map<String, Double> energy = Map.of();
            if (s.outputFormat() == MergeSettings.OutputFormat.LORA) {
                energy = LoraExporter.write(job.inputs(), outcome.deltas(), outcome.finalResults(), s.rank(), staging);
            } else {
                DenseExporter.write(job.inputs(), outcome.deltas(), staging);
            }
            MergeReport.write(staging.resolve(REPORT_FILE), s, job.method(), job.inputs(), outcome, energy,
                    Map.of("load_ms", loadMillis, "merge_ms", outcome.totalNanos() / 1e6, "write_ms", (System.nanoTime() - t0) / 1e6));
            MergeReportPage.write(staging.resolve(REPORT_FILE), staging.resolve(REPORT_PAGE));
            if (jobId != null) {
                PublishedOutput.record(staging, jobId);
            }
            AtomicFiles.publishDirectory(staging, s.out(), s.overwrite());
            staging = null;
            return new Result(s.out(), job.method(), job.inputs(), outcome, energy);
        } finally {
            AtomicFiles.deleteQuietly(staging);
        }
    }

    /**
     * The model the merge runs: a transformer exported to ONNX (the base model itself, or --model FILE.onnx),
     * or the MLP described by iteris.merge.model, or by e2e.json / model.json beside the base model.
     */
    static ModelRunner runnerFor(MergeSettings s, BaseModel base, MergeInputs inputs, Device device) {
        Path spec = modelDescription(s);
        if (spec.getFileName().toString().endsWith(".onnx")) {
            OnnxModelRunner runner = OnnxModelRunner.open(onnxModel(spec, base), s.onnxModuleNames(), inputs.layers(), device);
            if (!runner.targetLayers().containsAll(inputs.layers())) {
                List<String> missing = new ArrayList<>(inputs.layers());
                missing.removeAll(runner.targetLayers());
                runner.close();
                throw new IllegalArgumentException(spec + ": the adapters target " + missing
                        + ", which the graph has no MatMul node for (module names follow the exporter's node names)");
            }
            return runner;
        }
        DataType precision = s.precision().equals("float32") ? DataType.FLOAT : DataType.DOUBLE;
        return new TanhMlpRunner(MlpSpec.read(spec), base, precision);
    }

    /**
     * Per layer, the layer whose statistics it shares ({@link StatisticsSharing}): from the running model when the
     * job has one, else (a client submitting to a cluster) from the ONNX graph alone, without starting it.
     */
    public static Map<String, String> statisticsLeaders(LoadedJob job) {
        List<String> layers = job.inputs().layers();
        if (job.model().isPresent()) {
            return StatisticsSharing.leaders(layers, job.runner().inputOf());
        }
        if (job.method().dataNeeds() != MergeMethod.DataNeeds.NONE) {
            Path spec = modelDescription(job.settings());
            if (spec.getFileName().toString().endsWith(".onnx")) {
                Map<String, String> inputOf = new java.util.LinkedHashMap<>();
                io.iteris.core.model.onnx.OnnxGraphEditor.edit(onnxModel(spec, job.inputs().base()), job.settings().onnxModuleNames(),
                        layers, List.of()).targets().forEach((m, t) -> inputOf.put(m, t.activation()));
                return StatisticsSharing.leaders(layers, inputOf);
            }
            return StatisticsSharing.leaders(layers, MlpSpec.read(spec).inputOf());
        }
        return StatisticsSharing.leaders(layers, Map.of());
    }

    /** The ONNX model at {@code spec}: the base's own, already parsed, when it is the base. */
    private static OnnxModelFile onnxModel(Path spec, BaseModel base) {
        return base.source() instanceof OnnxTensorSource onnx && onnx.location().equals(spec) ? onnx.model() : OnnxModelFile.open(spec);
    }

    /** The model description file a merge that runs the model uses. */
    public static Path modelDescription(MergeSettings s) {
        if (s.model() != null) {
            return s.model();
        }
        if (s.base().getFileName().toString().endsWith(".onnx")) {
            return s.base();
        }
        Path dir = Files.isDirectory(s.base()) ? s.base() : s.base().toAbsolutePath().getParent();
        for (String candidate : List.of("e2e.json", "model.json")) {
            if (Files.isRegularFile(dir.resolve(candidate))) {
                return dir.resolve(candidate);
            }
        }
        throw new IllegalArgumentException("this method runs the model, but no model description was given "
                + "(--model FILE) and none (e2e.json, model.json) lies beside " + s.base()
                + "; a transformer is given as its ONNX export (--base model.onnx)");
    }

    static List<INDArray> calibrationFor(MergeSettings s, MergeInputs inputs, ModelRunner runner) {
        return calibrationFor(s, inputs, runner.inputWidth(), runner.vocabularySize());
    }

    static List<INDArray> calibrationFor(MergeSettings s, MergeInputs inputs, int width, long vocabulary) {
        if (s.calibration() == null) {
            throw new IllegalArgumentException("this method needs calibration samples (--calibration FILE)");
        }
        Calibration cal = Calibration.open(s.calibration());
        List<INDArray> out = new ArrayList<>();
        for (int i = 0; i < inputs.taskCount(); i++) {
            INDArray samples = cal.samples(inputs.adapters().get(i).name(), i, width);
            cal.checkTokenIds(inputs.adapters().get(i).name(), i, samples, vocabulary);
            out.add(samples);
        }
        return out;
    }
}
