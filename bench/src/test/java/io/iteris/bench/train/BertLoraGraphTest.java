package io.iteris.bench.train;

import io.iteris.core.model.onnx.OnnxTensorSource;
import io.iteris.core.model.onnx.OnnxTransformerRunner;
import io.iteris.core.model.onnx.WordPieceTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SameDiff encoder the text LoRAs are trained with computes what ONNX Runtime computes on the exported
 * model, with and without a LoRA (ONNX Runtime fed W0 + s·B·A), and its gradients reach the LoRA factors.
 */
class BertLoraGraphTest {
    static OnnxTensorSource base;
    static List<long[]> sequences;
    static final int TOKENS = 12;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = BertLoraGraphTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            base = OnnxTensorSource.of(Path.of("all-minilm-l6-v2.onnx"), in.readAllBytes());
        }
        WordPieceTokenizer tok;
        try (InputStream in = BertLoraGraphTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            tok = WordPieceTokenizer.read(in, "tokenizer.json");
        }
        sequences = List.of(tok.encode("Merging LoRA adapters keeps every task's skill.", TOKENS), tok.encode("spam", TOKENS),
                tok.encode("A short fortune about science and computers.", TOKENS));
    }

    private static int[][] ids() {
        int[][] ids = new int[sequences.size()][TOKENS];
        for (int b = 0; b < ids.length; b++) {
            for (int t = 0; t < TOKENS; t++) {
                ids[b][t] = t < sequences.get(b).length ? (int) sequences.get(b)[t] : -1;
            }
        }
        return ids;
    }

    private static double maxDiffOnRealTokens(INDArray ort, INDArray sd) {
        double max = 0;
        for (int b = 0; b < sequences.size(); b++) {
            for (int t = 0; t < sequences.get(b).length; t++) {
                max = Math.max(max, ort.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b), org.nd4j.linalg.indexing.NDArrayIndex.point(t))
                        .sub(sd.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b), org.nd4j.linalg.indexing.NDArrayIndex.point(t))
                                .castTo(DataType.DOUBLE)).amaxNumber().doubleValue());
            }
        }
        return max;
    }

    @Test
    void forwardMatchesOnnxRuntimeWithAndWithoutALora() {
        Map<String, INDArray[]> lora = new LinkedHashMap<>();
        Nd4j.getRandom().setSeed(3);
        String module = "encoder.layer.2.attention.self.value";
        lora.put(module, new INDArray[]{Nd4j.randn(DataType.FLOAT, 8, 384).muli(0.05), Nd4j.randn(DataType.FLOAT, 384, 8).muli(0.05)});
        double scale = 2.0;
        int batch = sequences.size();
        try (OnnxTransformerRunner ort = OnnxTransformerRunner.open(base.modelBytes(), "minilm", List.of("query", "value"), false, List.of())) {
            OnnxTransformerRunner.TokenBatch tokens = OnnxTransformerRunner.TokenBatch.padded(sequences, 0);
            BertLoraGraph plain = new BertLoraGraph(base, 12, batch, tokens.ids()[0].length, List.of("query", "value"), Map.of(), scale, null);
            int[][] ids = ids();
            int[][] trimmed = new int[batch][];
            for (int b = 0; b < batch; b++) {
                trimmed[b] = java.util.Arrays.copyOf(ids[b], tokens.ids()[0].length);
            }
            INDArray sdPlain = plain.sameDiff().output(plain.feeds(trimmed, null, 0), BertLoraGraph.HIDDEN).get(BertLoraGraph.HIDDEN);
            INDArray ortPlain = ort.run(ort.w0(), tokens, false).output();
            double d0 = maxDiffOnRealTokens(ortPlain, sdPlain);
            assertTrue(d0 <= 1e-4, "SameDiff vs ONNX Runtime, no LoRA: " + d0);

            BertLoraGraph adapted = new BertLoraGraph(base, 12, batch, tokens.ids()[0].length, List.of("query", "value"), lora, scale, null);
            INDArray sdLora = adapted.sameDiff().output(adapted.feeds(trimmed, null, 0), BertLoraGraph.HIDDEN).get(BertLoraGraph.HIDDEN);
            Map<String, INDArray> weights = new LinkedHashMap<>(ort.w0());
            INDArray delta = lora.get(module)[1].castTo(DataType.DOUBLE).mmul(lora.get(module)[0].castTo(DataType.DOUBLE)).muli(scale);
            weights.put(module, weights.get(module).add(delta));
            INDArray ortLora = ort.run(weights, tokens, false).output();
            double d1 = maxDiffOnRealTokens(ortLora, sdLora);
            assertTrue(d1 <= 1e-4, "SameDiff with a LoRA vs ONNX Runtime fed W0 + s·B·A: " + d1);
            assertTrue(maxDiffOnRealTokens(ortPlain, sdLora) > 1e-2, "the LoRA changes the hidden states");
        }
    }

    @Test
    void gradientsReachTheLoraFactorsAndTheHead() {
        Map<String, INDArray[]> lora = new LinkedHashMap<>();
        for (int l = 0; l < 6; l++) {
            lora.put("encoder.layer." + l + ".attention.self.query", new INDArray[]{Nd4j.randn(DataType.FLOAT, 4, 384).muli(0.05),
                    Nd4j.zeros(DataType.FLOAT, 384, 4)});
        }
        INDArray[] head = {Nd4j.randn(DataType.FLOAT, 2, 384).muli(0.05), Nd4j.zeros(DataType.FLOAT, 2)};
        BertLoraGraph g = new BertLoraGraph(base, 12, sequences.size(), TOKENS, List.of("query", "value"), lora, 2.0, head);
        assertEquals(6 * 2 + 2, g.trainable().size());
        Map<String, INDArray> grads = g.sameDiff().calculateGradients(g.feeds(ids(), new int[]{0, 1, 0}, 2), g.trainable());
        for (String name : g.trainable()) {
            double n = grads.get(name).norm2Number().doubleValue();
            // B starts at zero, so A's gradient is zero at the first step and B's is not (as in PEFT).
            if (name.endsWith("lora_A")) {
                assertEquals(0.0, n, 0.0, name);
            } else {
                assertTrue(n > 0 && Double.isFinite(n), name + " has gradient norm " + n);
            }
        }
    }
}
