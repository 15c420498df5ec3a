package io.iteris.core.vectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.NamedAdapter;
import io.iteris.core.merge.AverageMethod;
import io.iteris.core.merge.IterisMethod;
import io.iteris.core.merge.IterisParameters;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.RegMeanMethod;
import io.iteris.core.merge.TaskArithmeticMethod;
import io.iteris.core.merge.TiesMethod;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.Calibration;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.TanhMlpRunner;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsWriter;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
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

    /** Settings for one merge of this case (float64 throughout), output under {@code out}. */
    public MergeSettings settings(String method, Map<String, Object> methodParams, double[] manualCoef, int shardSize, Path out) {
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", method);
        m.put("iteris.merge.base", dir.resolve("base_model.safetensors").toString());
        m.put("iteris.merge.model", dir.resolve("e2e.json").toString());
        m.put("iteris.merge.calibration", dir.resolve("calibration.safetensors").toString());
        m.put("iteris.merge.precision", "float64");
        m.put("iteris.merge.shard-size", shardSize);
        m.put("iteris.merge.out", out.toString());
        m.put("iteris.merge.overwrite", true);
        List<Map<String, Object>> list = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            list.add(Map.of("name", "task" + i, "path", dir.resolve(spec.get("adapters").get(i).asText()).toString(),
                    "manual_coef", manualCoef == null ? 1.0 : manualCoef[i]));
        }
        m.put("iteris.merge.adapters", list);
        methodParams.forEach((k, v) -> m.put("iteris.methods." + method + "." + k, v));
        return MergeSettings.from(ConfigFactory.parseMap(m));
    }

    /** The settings of one IterIS config of e2e.json. */
    public MergeSettings iterisSettings(String config, int shardSize, Path out) {
        IterisParameters p = parameters(config);
        Map<String, Object> params = new HashMap<>(p.asMap());
        return settings(IterisMethod.NAME, params, manualCoef(config), shardSize, out);
    }

    /** Runs one IterIS config on the local engine with the given shard size; the listener sees every solve. */
    public MergeOutcome run(String config, int shardSize, MergeEngine.Listener listener) {
        return MergeEngine.LOCAL.merge(iterisSettings(config, shardSize, dir.resolve("unused-output")), listener);
    }

    /** Computes every config and the baselines on the local engine. */
    public void computeInto(Path out) {
        computeInto(out, MergeEngine.LOCAL);
    }

    /**
     * Computes every config and the baselines with {@code engine}, writing result_&lt;config&gt;.safetensors
     * and baselines.safetensors into {@code out}. An engine that publishes writes its adapters under
     * {@code out/merged/}.
     */
    public void computeInto(Path out, MergeEngine engine) {
        ModelRunner runner = runner(DataType.DOUBLE);
        INDArray probe = probe();
        for (String config : configNames()) {
            MergeInputs inputs = inputs(manualCoef(config));
            SafetensorsWriter w = new SafetensorsWriter().metadata("case", dir.getFileName().toString()).metadata("config", config);
            engine.merge(iterisSettings(config, 0, out.resolve("merged").resolve(config)), (report, merged) -> {
                String k = "iter" + (report.iteration() + 1);
                for (Map.Entry<String, LayerMergeResult> e : report.layers().entrySet()) {
                    LayerCase.putMatrix(w, k + "." + e.getKey() + ".delta_w", merged.get(e.getKey()));
                    for (Map.Entry<String, double[]> d : e.getValue().diagnostics().entrySet()) {
                        LayerCase.putVector(w, k + "." + e.getKey() + "." + d.getKey(), d.getValue());
                    }
                }
                INDArray y = runner.run(inputs.mergedWeights(merged), probe, false).output();
                w.add(k + ".probe_output", DType.F64, y.shape(), y.data().asDouble());
            });
            w.write(out.resolve("result_" + config + ".safetensors"));
        }
        JsonNode b = spec.get("baselines");
        Map<String, Map<String, Object>> baselines = new LinkedHashMap<>();
        baselines.put(TaskArithmeticMethod.NAME, Map.of("lambda", b.get("task_arithmetic_lambda").asDouble()));
        baselines.put(AverageMethod.NAME, Map.of());
        baselines.put(TiesMethod.NAME, Map.of("density", b.get("ties_density").asDouble(), "lambda", b.get("ties_lambda").asDouble()));
        baselines.put(RegMeanMethod.NAME, Map.of("nondiag_scale", b.get("regmean_nondiag_scale").asDouble()));
        SafetensorsWriter w = new SafetensorsWriter().metadata("case", dir.getFileName().toString());
        for (Map.Entry<String, Map<String, Object>> m : baselines.entrySet()) {
            MergeOutcome o = engine.merge(settings(m.getKey(), m.getValue(), null, 0, out.resolve("merged").resolve(m.getKey())), null);
            for (String layer : o.deltas().keySet()) {
                LayerCase.putMatrix(w, "baseline." + m.getKey() + "." + layer, o.deltas().get(layer));
            }
        }
        w.write(out.resolve(BASELINES_FILE));
    }
}
