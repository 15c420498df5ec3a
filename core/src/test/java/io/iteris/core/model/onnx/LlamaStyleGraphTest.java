package io.iteris.core.model.onnx;

import io.iteris.core.linalg.Matrices;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.shade.protobuf.ByteString;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tiny randomly initialised decoder block named the way LLaMA exports are ({@code /model/layers.0/self_attn/q_proj/MatMul},
 * inputs {@code input_ids}, {@code attention_mask}, {@code position_ids}), built here as an ONNX graph: the runner finds
 * {@code q_proj}/{@code v_proj} under their PEFT names, and its outputs and captured inputs match an ND4J re-computation.
 */
class LlamaStyleGraphTest {
    static final int VOCAB = 50;
    static final int HIDDEN = 8;

    @Test
    void qAndVProjectionsOfALlamaStyleGraphAreFedAndCaptured() {
        Random rng = new Random(5);
        float[] embed = gaussian(rng, VOCAB * HIDDEN);
        float[] pos = gaussian(rng, 16 * HIDDEN);
        float[] wq = gaussian(rng, HIDDEN * HIDDEN);
        float[] wv = gaussian(rng, HIDDEN * HIDDEN);
        float[] wo = gaussian(rng, HIDDEN * HIDDEN);
        byte[] model = graph(embed, pos, wq, wv, wo);
        OnnxTransformerRunner.TokenBatch b = new OnnxTransformerRunner.TokenBatch(new long[][]{{1, 7, 9, 3}, {4, 2, 0, 0}},
                new long[][]{{1, 1, 1, 1}, {1, 1, 0, 0}});
        try (OnnxTransformerRunner runner = OnnxTransformerRunner.open(model, "tiny-llama.onnx", List.of("q_proj", "v_proj"), false, List.of())) {
            assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj"), runner.targetLayers());
            OnnxTransformerRunner.Forward f = runner.run(runner.w0(), b, true);
            // ND4J: h = E[ids] + P[positions]; out = ((h Wqᵀ) ∘ (h Wvᵀ) ∘ mask) Woᵀ, with the initialisers' [in, out] = Wᵀ
            INDArray e = Nd4j.create(embed, new long[]{VOCAB, HIDDEN}, DataType.FLOAT).castTo(DataType.DOUBLE);
            INDArray p = Nd4j.create(pos, new long[]{16, HIDDEN}, DataType.FLOAT).castTo(DataType.DOUBLE);
            INDArray q = Nd4j.create(wq, new long[]{HIDDEN, HIDDEN}, DataType.FLOAT).castTo(DataType.DOUBLE);
            INDArray v = Nd4j.create(wv, new long[]{HIDDEN, HIDDEN}, DataType.FLOAT).castTo(DataType.DOUBLE);
            INDArray o = Nd4j.create(wo, new long[]{HIDDEN, HIDDEN}, DataType.FLOAT).castTo(DataType.DOUBLE);
            int row = 0;
            for (int s = 0; s < 2; s++) {
                for (int t = 0; t < 4; t++) {
                    INDArray h = e.getRow(b.ids()[s][t]).add(p.getRow(t)).reshape(1, HIDDEN);
                    INDArray want = h.mmul(q).mul(h.mmul(v)).muli(b.mask()[s][t]).mmul(o);
                    INDArray got = f.output().get(NDArrayIndex.point(s), NDArrayIndex.point(t), NDArrayIndex.all()).reshape(1, HIDDEN);
                    assertTrue(want.sub(got).amaxNumber().doubleValue() < 1e-5, "token " + s + "/" + t);
                    if (b.mask()[s][t] == 1) {
                        INDArray x = f.layerInputs().get("model.layers.0.self_attn.q_proj").getRow(row++);
                        assertTrue(x.reshape(1, HIDDEN).sub(h).amaxNumber().doubleValue() < 1e-6, "captured input of token " + s + "/" + t);
                    }
                }
            }
            assertEquals(6, row);
            assertEquals(6, f.layerInputs().get("model.layers.0.self_attn.v_proj").size(0));
            // W0 comes back as the layer's [out, in] weight
            assertEquals(0.0, Matrices.relativeError(runner.w0().get("model.layers.0.self_attn.q_proj"), q.transpose()), 1e-12);
            Map<String, INDArray> w = new HashMap<>(runner.w0());
            w.put("model.layers.0.self_attn.v_proj", w.get("model.layers.0.self_attn.v_proj").mul(2));
            assertTrue(runner.run(w, b, false).output().sub(f.output()).amaxNumber().doubleValue() > 1e-3);
        }
    }

    /** input_ids, attention_mask, position_ids → Gather + Gather → q_proj, v_proj → Mul → mask → o_proj → logits. */
    static byte[] graph(float[] embed, float[] pos, float[] wq, float[] wv, float[] wo) {
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("tiny-llama");
        g.addInput(tensor("input_ids", Onnx.TensorProto.DataType.INT64_VALUE));
        g.addInput(tensor("attention_mask", Onnx.TensorProto.DataType.INT64_VALUE));
        g.addInput(tensor("position_ids", Onnx.TensorProto.DataType.INT64_VALUE));
        g.addOutput(tensor("logits", Onnx.TensorProto.DataType.FLOAT_VALUE));
        g.addInitializer(init("model.embed_tokens.weight", embed, VOCAB, HIDDEN));
        g.addInitializer(init("model.embed_positions.weight", pos, 16, HIDDEN));
        g.addInitializer(init("onnx::MatMul_101", wq, HIDDEN, HIDDEN));
        g.addInitializer(init("onnx::MatMul_102", wv, HIDDEN, HIDDEN));
        g.addInitializer(init("onnx::MatMul_103", wo, HIDDEN, HIDDEN));
        g.addInitializer(Onnx.TensorProto.newBuilder().setName("axes2").setDataType(Onnx.TensorProto.DataType.INT64_VALUE)
                .addDims(1).addInt64Data(2));
        g.addNode(node("Gather", "/model/embed_tokens/Gather", List.of("model.embed_tokens.weight", "input_ids"), "tok"));
        g.addNode(node("Gather", "/model/embed_positions/Gather", List.of("model.embed_positions.weight", "position_ids"), "posv"));
        g.addNode(node("Add", "/model/embed/Add", List.of("tok", "posv"), "h"));
        g.addNode(node("MatMul", "/model/layers.0/self_attn/q_proj/MatMul", List.of("h", "onnx::MatMul_101"), "q"));
        g.addNode(node("MatMul", "/model/layers.0/self_attn/v_proj/MatMul", List.of("h", "onnx::MatMul_102"), "v"));
        g.addNode(node("Mul", "/model/layers.0/self_attn/Mul", List.of("q", "v"), "qv"));
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Cast").setName("/model/mask/Cast").addInput("attention_mask").addOutput("maskf")
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("to").setType(Onnx.AttributeProto.AttributeType.INT)
                        .setI(Onnx.TensorProto.DataType.FLOAT_VALUE)));
        g.addNode(node("Unsqueeze", "/model/mask/Unsqueeze", List.of("maskf", "axes2"), "mask3"));
        g.addNode(node("Mul", "/model/layers.0/self_attn/Mask", List.of("qv", "mask3"), "qvm"));
        g.addNode(node("MatMul", "/model/layers.0/self_attn/o_proj/MatMul", List.of("qvm", "onnx::MatMul_103"), "logits"));
        return Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName("iteris-test")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(14)).setGraph(g).build().toByteArray();
    }

    private static Onnx.NodeProto node(String op, String name, List<String> in, String out) {
        return Onnx.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(out).build();
    }

    private static Onnx.ValueInfoProto tensor(String name, int type) {
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(type))).build();
    }

    private static Onnx.TensorProto init(String name, float[] v, int rows, int cols) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return Onnx.TensorProto.newBuilder().setName(name).setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).addDims(rows).addDims(cols)
                .setRawData(ByteString.copyFrom(b.array())).build();
    }

    private static float[] gaussian(Random rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextGaussian() * 0.5);
        }
        return v;
    }
}
