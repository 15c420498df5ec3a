package io.iteris.core.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.iteris.core.linalg.Matrices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.InputStream;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ONNX runner on a real pretrained transformer, all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384), with its
 * query and value projections as targets.
 */
class OnnxTransformerRunnerTest {
    static final String VALUE_0_OUT = "/encoder/layer.0/attention/self/value/MatMul_output_0";
    static byte[] model;
    static OnnxTransformerRunner runner;

    // "[CLS] hello world [SEP]" and a longer sentence, in the model's WordPiece ids
    static final long[] SHORT = {101, 7592, 2088, 102};
    static final long[] LONG = {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 102};

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = OnnxTransformerRunnerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            model = in.readAllBytes();
        }
        runner = OnnxTransformerRunner.open(model, "all-minilm-l6-v2.onnx", List.of("query", "value"), false, List.of(VALUE_0_OUT));
    }

    @AfterAll
    static void close() {
        runner.close();
    }

    @Test
    void findsEveryQueryAndValueProjectionUnderItsPeftName() {
        assertEquals(12, runner.targetLayers().size());
        assertEquals("encoder.layer.0.attention.self.query", runner.targetLayers().get(0));
        assertEquals("encoder.layer.5.attention.self.value", runner.targetLayers().get(11));
        assertEquals(List.of(384L, 384L), List.of(runner.w0().get("encoder.layer.3.attention.self.value").shape()[0],
                runner.w0().get("encoder.layer.3.attention.self.value").shape()[1]));
    }

    @Test
    void feedingTheOriginalWeightsReproducesTheUnmodifiedModel() throws Exception {
        OnnxTransformerRunner.TokenBatch batch = batch(LONG, SHORT);
        INDArray ours = runner.run(runner.w0(), batch, false).output();
        INDArray original = plainRun(batch);
        assertEquals(List.of(2L, (long) LONG.length, 384L), List.of(ours.shape()[0], ours.shape()[1], ours.shape()[2]));
        // every real token's hidden state (padding positions carry no meaning)
        double maxDiff = 0;
        for (int b = 0; b < 2; b++) {
            int real = b == 0 ? LONG.length : SHORT.length;
            for (int t = 0; t < real; t++) {
                INDArray d = ours.get(NDArrayIndex.point(b), NDArrayIndex.point(t), NDArrayIndex.all())
                        .sub(original.get(NDArrayIndex.point(b), NDArrayIndex.point(t), NDArrayIndex.all()));
                maxDiff = Math.max(maxDiff, d.amaxNumber().doubleValue());
            }
        }
        System.out.printf("MiniLM with fed weights vs the unmodified model: max abs difference %.2e over real tokens%n", maxDiff);
        assertTrue(maxDiff <= 1e-5, "max |difference| " + maxDiff);
    }

    @Test
    void aChangedWeightChangesTheOutput() {
        OnnxTransformerRunner.TokenBatch batch = batch(LONG);
        Map<String, INDArray> w = new HashMap<>(runner.w0());
        w.put("encoder.layer.2.attention.self.value", w.get("encoder.layer.2.attention.self.value").mul(1.5));
        double diff = runner.run(w, batch, false).output().sub(runner.run(runner.w0(), batch, false).output()).amaxNumber().doubleValue();
        assertTrue(diff > 1e-2, "output moved by " + diff);
    }

    @Test
    void capturedInputsAreTheRealTokensRowsAndReproduceTheLayer() {
        OnnxTransformerRunner.TokenBatch batch = batch(LONG, SHORT);
        OnnxTransformerRunner.Forward f = runner.run(runner.w0(), batch, true);
        assertEquals(12, f.layerInputs().size());
        INDArray x = f.layerInputs().get("encoder.layer.0.attention.self.value");
        assertEquals(LONG.length + SHORT.length, x.size(0), "padding rows are left out");
        assertEquals(384, x.size(1));
        // X·Wᵀ in ND4J equals what the graph computed for the value projection, row for row
        INDArray mine = x.mmul(runner.w0().get("encoder.layer.0.attention.self.value").transpose());
        INDArray graph = f.extra().get(VALUE_0_OUT);
        int row = 0;
        for (int b = 0; b < 2; b++) {
            int real = b == 0 ? LONG.length : SHORT.length;
            for (int t = 0; t < real; t++, row++) {
                INDArray g = graph.get(NDArrayIndex.point(b), NDArrayIndex.point(t), NDArrayIndex.all());
                double d = mine.getRow(row).sub(g).amaxNumber().doubleValue();
                assertTrue(d < 1e-4, "row " + row + ": " + d);
            }
        }
    }

    @Test
    void theAttentionMaskIsRespectedAndPaddingCanBeIncluded() {
        INDArray alone = runner.run(runner.w0(), batch(SHORT), true).layerInputs().get("encoder.layer.4.attention.self.query");
        INDArray padded = runner.run(runner.w0(), batch(LONG, SHORT), true).layerInputs().get("encoder.layer.4.attention.self.query");
        INDArray shortRows = padded.get(NDArrayIndex.interval(LONG.length, LONG.length + SHORT.length), NDArrayIndex.all());
        assertTrue(shortRows.sub(alone).amaxNumber().doubleValue() < 1e-5, "padding does not leak into real tokens");
        try (OnnxTransformerRunner withPadding = OnnxTransformerRunner.open(model, "minilm", List.of("value"), true, List.of())) {
            INDArray all = withPadding.run(withPadding.w0(), batch(LONG, SHORT), true).layerInputs().get("encoder.layer.4.attention.self.value");
            assertEquals(2L * LONG.length, all.size(0));
        }
    }

    @Test
    void aCalibrationBatchOf32SequencesOf64Tokens() {
        long[][] seqs = new long[32][];
        java.util.Random rng = new java.util.Random(3);
        for (int i = 0; i < seqs.length; i++) {
            seqs[i] = new long[64];
            seqs[i][0] = 101;
            for (int t = 1; t < 63; t++) {
                seqs[i][t] = 1996 + rng.nextInt(5000);
            }
            seqs[i][63] = 102;
        }
        OnnxTransformerRunner.TokenBatch batch = batch(seqs);
        runner.run(runner.w0(), batch, true);
        long t0 = System.nanoTime();
        OnnxTransformerRunner.Forward f = runner.run(runner.w0(), batch, true);
        System.out.printf("MiniLM forward with 12 fed weights and captured inputs, 32 x 64 tokens: %.0f ms%n", (System.nanoTime() - t0) / 1e6);
        assertEquals(32 * 64, f.layerInputs().get("encoder.layer.5.attention.self.query").size(0));
    }

    @Test
    void badTargetsAndWeightsAreNamed() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> OnnxGraphEditor.edit(model, "minilm.onnx", List.of("q_proj"), List.of()));
        assertTrue(none.getMessage().contains("minilm.onnx") && none.getMessage().contains("q_proj"), none.getMessage());
        Map<String, INDArray> w = new HashMap<>(runner.w0());
        w.put("encoder.layer.1.attention.self.query", Matrices.zeros(384, 100));
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> runner.run(w, batch(SHORT), false));
        assertTrue(shape.getMessage().contains("encoder.layer.1.attention.self.query"), shape.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OnnxGraphEditor.edit(new byte[]{1, 2, 3}, "junk.onnx", List.of("value"), List.of()));
    }

    @Test
    void moduleNamesFollowBertAndLlamaStyleExports() {
        assertEquals("encoder.layer.0.attention.self.query", ModuleNames.DEFAULT.module("/encoder/layer.0/attention/self/query/MatMul"));
        assertEquals("model.layers.3.self_attn.q_proj", ModuleNames.DEFAULT.module("/model/layers.3/self_attn/q_proj/MatMul"));
        assertEquals(null, ModuleNames.DEFAULT.module("/encoder/layer.0/attention/self/Softmax"));
    }

    /** Sequences padded with id 0 ([PAD]) to the longest, mask 1 on real tokens. */
    /** MiniLM (BERT, opset 11+), its q and v reading one input per layer: the Gram in the session agrees with the host's. */
    @Test
    void statisticsInTheSessionOfABertModelMatchTheHosts() {
        OnnxModelFile file = OnnxModelFile.of(java.nio.file.Path.of("all-minilm-l6-v2.onnx"), model);
        try (OnnxTransformerRunner session = OnnxTransformerRunner.open(file, ModuleNames.DEFAULT, List.of("query", "value"), false,
                List.of(), Device.CPU.withGram(Device.Gram.DEVICE))) {
            OnnxTransformerRunner.TokenBatch batch = batch(LONG, SHORT);
            Map<String, INDArray> w0 = runner.w0();
            Map<String, INDArray> merged = new java.util.HashMap<>(w0);
            merged.replaceAll((m, w) -> w.mul(1.01));
            Map<String, INDArray> x = new java.util.LinkedHashMap<>();
            x.put("encoder.layer.2.attention.self.query", runner.run(w0, batch, true).layerInputs().get("encoder.layer.2.attention.self.query"));
            INDArray xt = runner.run(merged, batch, true).layerInputs().get("encoder.layer.2.attention.self.query");
            io.iteris.core.stats.GramStatistics want = io.iteris.core.stats.GramStatistics.of(x.values().iterator().next(), xt, true);
            io.iteris.core.stats.GramStatistics got = session.statistics(merged, batch, x, true).get("encoder.layer.2.attention.self.query");
            assertEquals(LONG.length + SHORT.length, got.rows(), "real tokens only");
            assertTrue(io.iteris.core.linalg.Matrices.relativeError(want.c(), got.c()) < 1e-12);
            assertTrue(io.iteris.core.linalg.Matrices.relativeError(want.h(), got.h()) < 1e-12);
            assertTrue(io.iteris.core.linalg.Matrices.relativeError(want.g(), got.g()) < 1e-12);
        }
    }

    static OnnxTransformerRunner.TokenBatch batch(long[]... seqs) {
        return OnnxTransformerRunner.TokenBatch.padded(List.of(seqs), 0);
    }

    /** The unmodified model in a plain ONNX Runtime session. */
    static INDArray plainRun(OnnxTransformerRunner.TokenBatch batch) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {batch.ids().length, batch.ids()[0].length};
        try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions());
             OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(OnnxTensors.flatten(batch.ids())), shape);
             OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(OnnxTensors.flatten(batch.mask())), shape);
             OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[(int) (shape[0] * shape[1])]), shape);
             OrtSession.Result r = s.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
            return OnnxTensors.toArray((OnnxTensor) r.get("last_hidden_state").orElseThrow());
        }
    }
}
