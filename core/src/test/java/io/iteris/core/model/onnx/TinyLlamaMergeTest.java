package io.iteris.core.model.onnx;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.demo.TinyLlama;
import io.iteris.core.engine.LocalMergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.TextCalibration;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsException;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A LLaMA-shaped decoder exported with its weights as external data (the layout of every export over 2 GB), three
 * LoRAs of different ranks on q_proj and v_proj, and calibration from plain text through its tokenizer.json: IterIS
 * through ONNX Runtime (float32 forward passes) agrees with IterIS recomputed in float64 by an independent
 * implementation of the same model to {@value #F32_TOLERANCE} relative (float16 weights and forward passes:
 * {@value #F16_TOLERANCE}); bfloat16 weights are read, but ONNX Runtime's CPU provider cannot run them, which is
 * said plainly.
 */
class TinyLlamaMergeTest {
    /** Relative error of each merged ΔW: float32 forward passes against float64, the solves in float64 in both. */
    static final double F32_TOLERANCE = 1e-5;
    /** The same with float16 weights and forward passes (about 3 significant digits). */
    static final double F16_TOLERANCE = 5e-3;
    static final TinyLlama.Shape F32 = new TinyLlama.Shape(64, 16, 32, 2, 32, DType.F32, true);

    @TempDir
    Path tmp;

    static MergeSettings settings(TinyLlama.Example ex, Path calibration, Path out) {
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", "iteris");
        m.put("iteris.merge.base", ex.model().toString());
        m.put("iteris.merge.calibration", calibration.toString());
        m.put("iteris.merge.out", out.toString());
        m.put("iteris.methods.iteris.iterations", 3);
        List<Map<String, Object>> adapters = new ArrayList<>();
        for (int i = 0; i < ex.tasks().size(); i++) {
            adapters.add(Map.of("name", ex.tasks().get(i), "path", ex.adapters().get(i).toString()));
        }
        m.put("iteris.merge.adapters", adapters);
        return MergeSettings.from(ConfigFactory.parseMap(m));
    }

    static Path calibration(TinyLlama.Example ex, Path dir) {
        List<TextCalibration.Task> tasks = new ArrayList<>();
        for (int i = 0; i < ex.tasks().size(); i++) {
            tasks.add(new TextCalibration.Task(ex.tasks().get(i), ex.texts().get(i)));
        }
        return TextCalibration.write(ex.tokenizer(), tasks, 12, null, dir.resolve("calibration.safetensors"));
    }

    /** The largest relative error of the merged ΔW over layers, ONNX Runtime against the float64 reference. */
    private double againstReference(TinyLlama.Shape shape, Path dir) {
        TinyLlama.Example ex = TinyLlama.writeExample(dir, shape, List.of(2, 4, 6), List.of("q_proj", "v_proj"), 24, 3);
        Path calibration = calibration(ex, dir);
        MergeSettings s = settings(ex, calibration, dir.resolve("out"));
        Merger.Result onnx = Merger.run(s, null);
        Merger.LoadedJob job = Merger.loadMergeInputs(s);
        MergeInputs inputs = job.inputs();
        List<INDArray> samples = new ArrayList<>();
        io.iteris.core.model.Calibration cal = io.iteris.core.model.Calibration.open(calibration);
        for (int i = 0; i < inputs.taskCount(); i++) {
            samples.add(cal.samples(ex.tasks().get(i), i, 1));
        }
        TinyLlamaReference reference = new TinyLlamaReference((OnnxTensorSource) inputs.base().source(), shape, inputs.layers());
        MergeOutcome exact = new LocalMergeEngine(inputs, job.method(), reference, samples, 0).run(null);
        assertEquals(12, inputs.layers().size() * 3, "q and v of two layers, three tasks");
        double worst = 0;
        for (String layer : inputs.layers()) {
            worst = Math.max(worst, Matrices.relativeError(exact.deltas().get(layer), onnx.outcome().deltas().get(layer)));
        }
        return worst;
    }

    @Test
    void externalDataFloat32MergeMatchesAFloat64RecomputationOfIteris() throws Exception {
        double err = againstReference(F32, tmp.resolve("f32"));
        assertTrue(err < F32_TOLERANCE, "float32 against float64: " + err);
        Path model = tmp.resolve("f32/model");
        OnnxModelFile file = OnnxModelFile.open(model.resolve(TinyLlama.MODEL));
        long external = file.initializers().values().stream().filter(t -> t.getDimsCount() == 2).filter(OnnxModelFile::external).count();
        assertEquals(2 + 2 * 7 + 1, external, "every weight matrix lives in the external data file");
        assertEquals(4L * F32.parameters(), Files.size(model.resolve(TinyLlama.DATA)));
        System.out.printf("tiny LLaMA, float32, external data: max relative error of merged dW against float64 %.2e%n", err);
    }

    @Test
    void projectionsThatReadTheSameInputShareOneSetOfStatistics() {
        Path dir = tmp.resolve("shared");
        TinyLlama.Example ex = TinyLlama.writeExample(dir, F32, List.of(2, 3, 4), List.of("q_proj", "k_proj", "v_proj", "o_proj"), 12, 2);
        MergeSettings s = settings(ex, calibration(ex, dir), dir.resolve("out"));
        Merger.LoadedJob submitted = Merger.loadForSubmission(s, true);
        Map<String, String> fromGraph = Merger.statisticsLeaders(submitted);
        String block = "model.layers.0.self_attn.";
        String leader = fromGraph.get(block + "q_proj");
        assertEquals(leader, fromGraph.get(block + "k_proj"));
        assertEquals(leader, fromGraph.get(block + "v_proj"));
        assertEquals(leader, fromGraph.get(leader), "the group's statistics layer is one of its own, first in job order");
        assertEquals(block + "o_proj", fromGraph.get(block + "o_proj"), "o_proj reads the attention output, its own input");
        try (io.iteris.core.model.ModelRunner runner = Merger.withData(Merger.loadMergeInputs(s)).runner()) {
            assertEquals(fromGraph, io.iteris.core.engine.StatisticsSharing.leaders(submitted.inputs().layers(), runner.inputOf()),
                    "the running model and the graph alone agree");
        }
    }

    @Test
    void float16WeightsAreReadAndFedInTheirOwnType() {
        double err = againstReference(new TinyLlama.Shape(64, 16, 32, 2, 32, DType.F16, true), tmp.resolve("f16"));
        assertTrue(err < F16_TOLERANCE, "float16 against float64: " + err);
        System.out.printf("tiny LLaMA, float16, external data: max relative error of merged dW against float64 %.2e%n", err);
    }

    @Test
    void bfloat16WeightsAreReadButTheCpuProviderCannotRunThemAndSaysSo() {
        TinyLlama.Example ex = TinyLlama.writeExample(tmp.resolve("bf16"), new TinyLlama.Shape(64, 16, 32, 1, 32, DType.BF16, true),
                List.of(2, 2), List.of("q_proj"), 8, 4);
        OnnxTensorSource src = OnnxTensorSource.open(ex.model());
        assertEquals(DType.BF16, src.info("model.layers.0.self_attn.q_proj.weight").dtype());
        assertEquals(16 * 16, src.readDoubles("model.layers.0.self_attn.q_proj.weight").length);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Merger.run(settings(ex, calibration(ex, tmp.resolve("bf16")), tmp.resolve("bf16/out")), null));
        assertTrue(e.getMessage().contains("bfloat16") && e.getMessage().contains("CUDA"), e.getMessage());
    }

    @Test
    void externalDataIsCheckedBeforeItIsRead() throws Exception {
        Path dir = tmp.resolve("bad");
        Path model = TinyLlama.writeModel(dir, new TinyLlama.Shape(16, 8, 8, 1, 8, DType.F32, true), 5);
        Onnx.ModelProto proto = Onnx.ModelProto.parseFrom(Files.readAllBytes(model));
        String target = "model.layers.0.self_attn.q_proj.weight";
        for (String[] bad : List.of(new String[]{"location", "../escape.bin", "outside the model's directory"},
                new String[]{"length", "12", "should take 256 bytes"},
                new String[]{"offset", "999999999", "which has only"})) {
            Onnx.GraphProto.Builder g = proto.getGraph().toBuilder();
            for (int i = 0; i < g.getInitializerCount(); i++) {
                Onnx.TensorProto t = g.getInitializer(i);
                if (t.getName().startsWith("onnx::MatMul_1000")) {
                    Onnx.TensorProto.Builder b = t.toBuilder().clearExternalData();
                    for (Onnx.StringStringEntryProto kv : t.getExternalDataList()) {
                        b.addExternalData(kv.getKey().equals(bad[0]) ? kv.toBuilder().setValue(bad[1]).build() : kv);
                    }
                    g.setInitializer(i, b);
                }
            }
            Path broken = dir.resolve("broken.onnx");
            Files.write(broken, proto.toBuilder().setGraph(g).build().toByteArray());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> OnnxTensorSource.open(broken).readFloats(target));
            assertTrue(e.getMessage().contains("broken.onnx") && e.getMessage().contains(bad[2]), e.getMessage());
        }
    }
}
