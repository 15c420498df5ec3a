package io.iteris.core.vectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.AverageMethod;
import io.iteris.core.merge.IterisParameters;
import io.iteris.core.merge.IterisSolver;
import io.iteris.core.merge.LayerMergeInput;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.RegMeanMethod;
import io.iteris.core.merge.TaskArithmeticMethod;
import io.iteris.core.merge.TaskLayer;
import io.iteris.core.merge.TiesMethod;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsFile;
import io.iteris.core.safetensors.SafetensorsWriter;
import io.iteris.core.safetensors.TensorInfo;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A per-layer golden case ({@code layer_*}: case.json + inputs.safetensors): one IterIS solve with the
 * given X̃, the first solve (X̃ = X), and the baselines, computed from the inputs alone.
 */
public final class LayerCase {
    public static final String RESULT_FILE = "result.safetensors";

    private final Path dir;
    private final JsonNode spec;
    private final SafetensorsFile inputs;

    private LayerCase(Path dir, JsonNode spec, SafetensorsFile inputs) {
        this.dir = dir;
        this.spec = spec;
        this.inputs = inputs;
    }

    public static LayerCase open(Path dir) {
        try {
            return new LayerCase(dir, new ObjectMapper().readTree(dir.resolve("case.json").toFile()),
                    SafetensorsFile.open(dir.resolve("inputs.safetensors")));
        } catch (IOException e) {
            throw new UncheckedIOException(dir.resolve("case.json") + ": " + e.getMessage(), e);
        }
    }

    public JsonNode spec() {
        return spec;
    }

    public int taskCount() {
        return spec.get("n_tasks").asInt();
    }

    public IterisParameters parameters() {
        return new IterisParameters(1, spec.get("alpha_1").asDouble(), spec.get("alpha_2").asDouble(),
                spec.get("reg_ceof").asDouble(), spec.get("with_pretrain_matrix").asInt() != 0, true, 0);
    }

    public INDArray w0() {
        return matrix("W0");
    }

    /** ΔW_i = s_i·B_i·A_i with s_i from rank, alpha and rsLoRA, as PEFT computes it. */
    public INDArray delta(int i) {
        return lora(i).delta();
    }

    /** Task i's LoRA factors and scale. */
    public LoraModule lora(int i) {
        int r = spec.get("rank").get(i).asInt();
        double alpha = spec.get("lora_alpha").get(i).asDouble();
        double scale = spec.path("use_rslora").asBoolean(false) ? alpha / Math.sqrt(r) : alpha / r;
        return new LoraModule("task" + i, matrix("lora." + i + ".A"), matrix("lora." + i + ".B"), scale);
    }

    /** X.i or Xtilde.i flattened to [S·T, in]. */
    public INDArray features(String prefix, int i) {
        String key = prefix + "." + i;
        TensorInfo t = inputs.info(key);
        long in = t.shape()[t.rank() - 1];
        return Matrices.of(inputs.readDoubles(key), t.numel() / in, in);
    }

    private INDArray matrix(String key) {
        TensorInfo t = inputs.info(key);
        return Matrices.of(inputs.readDoubles(key), t.shape()[0], t.shape()[1]);
    }

    public LayerMergeInput input(boolean withTilde) {
        return input(withTilde, true);
    }

    /** @param manual whether tasks carry case.json's manual_coef (the baselines are defined without it) */
    public LayerMergeInput input(boolean withTilde, boolean manual) {
        return input(withTilde, manual, true);
    }

    /** @param asLora whether tasks carry their LoRA factors (the solvers' exact low-rank path) or dense ΔW (the reference) */
    public LayerMergeInput input(boolean withTilde, boolean manual, boolean asLora) {
        List<TaskLayer> tasks = new ArrayList<>();
        for (int i = 0; i < taskCount(); i++) {
            INDArray x = features("X", i);
            GramStatistics s = withTilde ? GramStatistics.of(x, features("Xtilde", i)) : GramStatistics.ofFeatures(x);
            double m = manual ? spec.get("manual_coef").get(i).asDouble() : 1.0;
            tasks.add(asLora ? TaskLayer.ofLora("task" + i, lora(i), m, s) : new TaskLayer("task" + i, delta(i), m, s));
        }
        return new LayerMergeInput(spec.path("name").asText(dir.getFileName().toString()), w0(), tasks, withTilde ? 1 : 0);
    }

    /** Computes everything and writes {@code out/result.safetensors}. */
    public void computeInto(Path out) {
        IterisParameters p = parameters();
        LayerMergeResult now = IterisSolver.solve(input(true), p);
        LayerMergeInput first = input(false);
        LayerMergeResult iter0 = IterisSolver.solve(first, p);
        SafetensorsWriter w = new SafetensorsWriter().metadata("case", dir.getFileName().toString());
        putMatrix(w, "delta_w", now.delta());
        putMatrix(w, "iter0.delta_w", iter0.delta());
        for (String k : List.of("coef", "omega", "lambda_1", "lambda_2")) {
            putVector(w, k, now.diagnostics().get(k));
        }
        putVector(w, "iter0.lambda_1", iter0.diagnostics().get("lambda_1"));
        putVector(w, "iter0.lambda_2", iter0.diagnostics().get("lambda_2"));
        JsonNode b = spec.get("baselines");
        if (b != null && !b.isNull()) {
            LayerMergeInput plain = input(false, false);
            putMatrix(w, "baseline.task_arithmetic",
                    new TaskArithmeticMethod(b.get("task_arithmetic_lambda").asDouble()).mergeLayer(plain).delta());
            putMatrix(w, "baseline.average", new AverageMethod(null).mergeLayer(plain).delta());
            putMatrix(w, "baseline.ties", new TiesMethod(b.get("ties_density").asDouble(), b.get("ties_lambda").asDouble())
                    .mergeLayer(plain).delta());
            putMatrix(w, "baseline.regmean", new RegMeanMethod(b.get("regmean_nondiag_scale").asDouble()).mergeLayer(plain).delta());
        }
        w.write(out.resolve(RESULT_FILE));
    }

    static void putMatrix(SafetensorsWriter w, String key, INDArray m) {
        w.add(key, DType.F64, m.shape(), Matrices.toArray(m));
    }

    static void putVector(SafetensorsWriter w, String key, double[] v) {
        w.add(key, DType.F64, new long[]{v.length}, v.clone());
    }
}
