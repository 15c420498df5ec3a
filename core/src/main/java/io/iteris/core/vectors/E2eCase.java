package io.iteris.core.vectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iteris.core.engine.LocalMergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.NamedAdapter;
import io.iteris.core.merge.AverageMethod;
import io.iteris.core.merge.IterisMethod;
import io.iteris.core.merge.IterisParameters;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.merge.RegMeanMethod;
import io.iteris.core.merge.TaskArithmeticMethod;
import io.iteris.core.merge.TiesMethod;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.Calibration;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.TanhMlpRunner;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.safetensors.SafetensorsWriter;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An end-to-end golden case ({@code e2e_*}: e2e.json, base model, PEFT adapters, calibration): the whole
 * IterIS loop for every config in {@code iteris_configs}, recording every solve, plus the baselines.
 */
public final class E2eCase {
    public static final String BASELINES_FILE = "baselines.safetensors";

    private final Path dir;
    private final JsonNode spec;
    private final BaseModel base;
    private final MlpSpec mlp;
    private final Calibration calibration;
    private final List<PeftAdapter> adapters = new ArrayList<>();

    private E2eCase(Path dir, JsonNode spec) {
        this.dir = dir;
        this.spec = spec;
        this.base = BaseModel.open(dir.resolve("base_model.safetensors"));
        this.mlp = MlpSpec.read(dir.resolve("e2e.json"));
        this.calibration = Calibration.open(dir.resolve("calibration.safetensors"));
        spec.get("adapters").forEach(a -> adapters.add(PeftAdapter.load(dir.resolve(a.asText()))));
    }

    public static E2eCase open(Path dir) {
        try {
            return new E2eCase(dir, new ObjectMapper().readTree(dir.resolve("e2e.json").toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(dir.resolve("e2e.json") + ": " + e.getMessage(), e);
        }
    }

    public JsonNode spec() {
        return spec;
    }

    public List<String> configNames() {
        List<String> names = new ArrayList<>();
        spec.get("iteris_configs").fieldNames().forEachRemaining(names::add);
        return names;
    }

    public IterisParameters parameters(String config) {
        JsonNode c = spec.get("iteris_configs").get(config);
        return new IterisParameters(c.get("max_iter").asInt(), c.get("alpha_1").asDouble(), c.get("alpha_2").asDouble(),
                c.get("reg_ceof").asDouble(), c.get("with_pretrain_matrix").asInt() != 0, true, 0);
    }

    public MergeInputs inputs(double[] manualCoef) {
        List<NamedAdapter> named = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            named.add(new NamedAdapter("task" + i, adapters.get(i), manualCoef == null ? 1.0 : manualCoef[i]));
        }
        return MergeInputs.prepare(base, named);
    }

    public double[] manualCoef(String config) {
        JsonNode m = spec.get("iteris_configs").get(config).get("manual_coef");
        double[] out = new double[m.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = m.get(i).asDouble();
        }
        return out;
    }

    public ModelRunner runner(DataType precision) {
        return new TanhMlpRunner(mlp, base, precision);
    }

    public List<INDArray> samples() {
        List<INDArray> out = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            out.add(calibration.samples("task" + i, i, mlp.dims()[0]));
        }
        return out;
    }

    public INDArray probe() {
        return calibration.read("probe.input", mlp.dims()[0]);
    }

    /** Runs one IterIS config in float64 with the given shard size; the listener sees every solve. */
    public MergeOutcome run(String config, int shardSize, LocalMergeEngine.Listener listener) {
        MergeMethod method = new IterisMethod(parameters(config));
        return new LocalMergeEngine(inputs(manualCoef(config)), method, runner(DataType.DOUBLE), samples(), shardSize)
                .run(listener);
    }

    /** Computes every config and the baselines, writing result_&lt;config&gt;.safetensors and baselines.safetensors. */
    public void computeInto(Path out) {
        ModelRunner runner = runner(DataType.DOUBLE);
        INDArray probe = probe();
        for (String config : configNames()) {
            MergeInputs inputs = inputs(manualCoef(config));
            SafetensorsWriter w = new SafetensorsWriter().metadata("case", dir.getFileName().toString()).metadata("config", config);
            run(config, 0, (report, merged) -> {
                String k = "iter" + (report.iteration() + 1);
                for (Map.Entry<String, LayerMergeResult> e : report.layers().entrySet()) {
                    LayerCase.putMatrix(w, k + "." + e.getKey() + ".delta_w", e.getValue().delta());
                    for (Iterator<Map.Entry<String, double[]>> it = e.getValue().diagnostics().entrySet().iterator(); it.hasNext(); ) {
                        Map.Entry<String, double[]> d = it.next();
                        LayerCase.putVector(w, k + "." + e.getKey() + "." + d.getKey(), d.getValue());
                    }
                }
                INDArray y = runner.run(inputs.mergedWeights(merged), probe, false).output();
                w.add(k + ".probe_output", io.iteris.core.safetensors.DType.F64, y.shape(), y.data().asDouble());
            });
            w.write(out.resolve("result_" + config + ".safetensors"));
        }
        writeBaselines(out.resolve(BASELINES_FILE), runner);
    }

    private void writeBaselines(Path file, ModelRunner runner) {
        JsonNode b = spec.get("baselines");
        Map<String, MergeMethod> methods = new LinkedHashMap<>();
        methods.put("task_arithmetic", new TaskArithmeticMethod(b.get("task_arithmetic_lambda").asDouble()));
        methods.put("average", new AverageMethod(null));
        methods.put("ties", new TiesMethod(b.get("ties_density").asDouble(), b.get("ties_lambda").asDouble()));
        methods.put("regmean", new RegMeanMethod(b.get("regmean_nondiag_scale").asDouble()));
        SafetensorsWriter w = new SafetensorsWriter().metadata("case", dir.getFileName().toString());
        MergeInputs inputs = inputs(null);
        for (Map.Entry<String, MergeMethod> m : methods.entrySet()) {
            MergeOutcome o = new LocalMergeEngine(inputs, m.getValue(), runner, samples(), 0).run(null);
            for (String layer : inputs.layers()) {
                LayerCase.putMatrix(w, "baseline." + m.getKey() + "." + layer, o.deltas().get(layer));
            }
        }
        w.write(file);
    }
}
