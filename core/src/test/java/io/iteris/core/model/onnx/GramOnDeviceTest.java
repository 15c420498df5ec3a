package io.iteris.core.model.onnx;

import io.iteris.core.demo.TinyLlama;
import io.iteris.core.engine.StatisticsSharing;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.DType;
import io.iteris.core.stats.GramStatistics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Gram statistics computed inside the ONNX Runtime session ({@link GramGraph}, what a GPU worker does) against the
 * plain path, the activations copied out and multiplied in the JVM: on random LLaMA shapes, float32 and float16, with
 * padding and more sequences than one ONNX Runtime batch. The session's float64 products sum in another order, so the
 * two agree to {@value #TOLERANCE} relative, not to the bit; and only the in×in matrices come out of the session.
 */
class GramOnDeviceTest {
    static final double TOLERANCE = 1e-12;

    @TempDir
    Path tmp;

    @Test
    void statisticsInTheSessionMatchThoseOfTheCapturedInputsOnRandomShapes() {
        SplittableRandom rng = new SplittableRandom(29);
        for (int trial = 0; trial < 4; trial++) {
            int hidden = 8 + 8 * rng.nextInt(4);
            DType dtype = trial % 2 == 0 ? DType.F32 : DType.F16;
            TinyLlama.Shape shape = new TinyLlama.Shape(40, hidden, hidden + 8 * rng.nextInt(3), 1 + rng.nextInt(2), 24, dtype, trial < 2);
            Path model = TinyLlama.writeModel(tmp.resolve("m" + trial), shape, 100 + trial);
            List<String> kinds = List.of("q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj");
            int sequences = OnnxModelRunner.BATCH + 1 + rng.nextInt(12);
            INDArray samples = ids(rng, sequences, 4 + rng.nextInt(12), shape.vocab());
            OnnxModelFile file = OnnxModelFile.open(model);
            try (OnnxModelRunner host = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, Device.CPU);
                 OnnxModelRunner device = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, Device.CPU.withGram(Device.Gram.DEVICE))) {
                Map<String, INDArray> w0 = host.w0();
                Map<String, INDArray> task = perturbed(w0, rng, 0.05);
                Map<String, INDArray> merged = perturbed(w0, rng, 0.05);
                // X: the leaders' inputs under the task weights, captured as both engines cache them
                Map<String, INDArray> captured = host.run(task, samples, true).layerInputs();
                // a pass that only captures runs none of the statistics nodes, so it needs none of their inputs
                assertEquals(captured, device.run(task, samples, true).layerInputs(), "capture is the same with the Gram in the graph");
                Map<String, INDArray> x = leadersOnly(host, captured);
                assertTrue(x.size() < captured.size(), "q, k and v share one input");
                Map<String, GramStatistics> want = host.statistics(merged, samples, x, true);
                Map<String, GramStatistics> got = device.statistics(merged, samples, x, true);
                assertEquals(want.keySet(), got.keySet());
                for (String m : x.keySet()) {
                    GramStatistics a = want.get(m);
                    GramStatistics b = got.get(m);
                    String at = "trial " + trial + " (" + shape + ", " + sequences + " sequences) " + m;
                    assertEquals(a.rows(), b.rows(), at);
                    assertTrue(Matrices.relativeError(a.c(), b.c()) < TOLERANCE, at + " C: " + Matrices.relativeError(a.c(), b.c()));
                    assertTrue(Matrices.relativeError(a.h(), b.h()) < TOLERANCE, at + " H: " + Matrices.relativeError(a.h(), b.h()));
                    assertTrue(Matrices.relativeError(a.g(), b.g()) < TOLERANCE, at + " G: " + Matrices.relativeError(a.g(), b.g()));
                    assertEquals(b.h(), b.h().transpose(), "H is exactly symmetric");
                    assertEquals(b.g(), b.g().transpose(), "G is exactly symmetric");
                }
                assertFalse(device.statistics(merged, samples, x, false).values().iterator().next().hasG(), "G only when asked");
            }
        }
    }

    @Test
    void onlyTheInByInMatricesLeaveTheSession() {
        TinyLlama.Shape shape = new TinyLlama.Shape(40, 16, 24, 2, 24, DType.F32, true);
        Path model = TinyLlama.writeModel(tmp.resolve("bytes"), shape, 7);
        OnnxModelFile file = OnnxModelFile.open(model);
        List<String> kinds = List.of("q_proj", "v_proj", "down_proj");
        INDArray samples = ids(new SplittableRandom(3), 10, 12, shape.vocab());
        try (OnnxModelRunner host = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, Device.CPU);
             OnnxModelRunner device = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, Device.CPU.withGram(Device.Gram.DEVICE))) {
            Map<String, INDArray> w0 = host.w0();
            Map<String, INDArray> all = host.capture(w0, samples);
            assertEquals(all, host.run(w0, samples, true).layerInputs(), "a capture is a pass's captured inputs");
            Map<String, INDArray> x = new LinkedHashMap<>(all);
            x.remove("model.layers.0.self_attn.v_proj");
            x.remove("model.layers.1.self_attn.v_proj");
            OnnxTransformerRunner.Transfer h0 = host.transfer();
            OnnxTransformerRunner.Transfer d0 = device.transfer();
            host.statistics(w0, samples, x, false);
            device.statistics(w0, samples, x, false);
            long hostOut = host.transfer().out() - h0.out();
            long deviceOut = device.transfer().out() - d0.out();
            // host: each distinct captured input [10·12, in] in float32, and not the model's output (the logits)
            long activations = 0;
            for (INDArray v : x.values()) {
                activations += 10L * 12 * v.size(1) * 4;
            }
            assertEquals(activations, hostOut);
            // device: C and H per distinct input, in×in float64
            long grams = 0;
            for (INDArray v : x.values()) {
                grams += 2 * v.size(1) * v.size(1) * 8;
            }
            assertEquals(grams, deviceOut);
            // in: ids, mask and positions (int64), and per distinct input the kept rows' indices (int64) and X (float32)
            long kept = x.values().iterator().next().size(0);
            assertTrue(kept < 10 * 12, "some padding");
            assertEquals(10L * 12 * 8 * 3 + 4 * kept * 8 + kept * (16 + 24 + 16 + 24) * 4, device.transfer().inputsIn() - d0.inputsIn());
            System.out.printf("one unit of 10 sequences x 12 tokens, 4 captured inputs: %d bytes out with the Gram on the host, %d in the"
                    + " session%n", hostOut, deviceOut);
        }
    }

    /** The captured inputs of the layers whose statistics are computed, one per shared input (as {@code ShardInference} keeps them). */
    static Map<String, INDArray> leadersOnly(OnnxModelRunner runner, Map<String, INDArray> captured) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        StatisticsSharing.leaders(runner.targetLayers(), runner.inputOf()).forEach((m, leader) -> {
            if (m.equals(leader)) {
                out.put(m, captured.get(m));
            }
        });
        return out;
    }

    /** Token ids [S, T, 1], each sequence a random length of real tokens then −1 padding. */
    static INDArray ids(SplittableRandom rng, int sequences, int tokens, int vocab) {
        double[] v = new double[sequences * tokens];
        for (int s = 0; s < sequences; s++) {
            int len = 1 + rng.nextInt(tokens);
            for (int t = 0; t < tokens; t++) {
                v[s * tokens + t] = t < len ? 1 + rng.nextInt(vocab - 1) : -1;
            }
        }
        return Nd4j.create(v, new long[]{sequences, tokens, 1});
    }

    static Map<String, INDArray> perturbed(Map<String, INDArray> w, SplittableRandom rng, double scale) {
        Map<String, INDArray> out = new HashMap<>();
        w.forEach((m, v) -> {
            double[] d = Matrices.toArray(v);
            for (int i = 0; i < d.length; i++) {
                d[i] += scale * rng.nextGaussian();
            }
            out.put(m, Matrices.of(d, v.size(0), v.size(1)));
        });
        return out;
    }
}
