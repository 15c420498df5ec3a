package io.iteris.core.model.onnx;

import io.iteris.core.linalg.Matrices;
import onnx.Onnx;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.protobuf.InvalidProtocolBufferException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites a transformer's ONNX graph once, when it is loaded, so one session serves every IterIS iteration:
 * each LoRA-targeted {@code MatMul} weight (an initializer) becomes a graph input that is fed per run, and
 * the activation entering it becomes an extra graph output.
 *
 * <p>Module names follow the exporters' node names: {@code /encoder/layer.0/attention/self/query/MatMul}
 * (BERT, as PyTorch and Optimum export it) is PEFT's {@code encoder.layer.0.attention.self.query}, and
 * {@code /model/layers.0/self_attn/q_proj/MatMul} (LLaMA-style) is {@code model.layers.0.self_attn.q_proj}.
 * A target is a module whose full name, or last name component, is in the target list (PEFT's
 * {@code target_modules}).
 * Supported: float32 {@code MatMul} with a 2-D initializer weight [in, out] (what torch.onnx exports for
 * {@code nn.Linear}); a target exported as {@code Gemm}, or quantised, is refused by name.
 */
public final class OnnxGraphEditor {
    /** Input-name prefix of a fed weight. */
    public static final String WEIGHT_INPUT_PREFIX = "iteris.weight.";

    /** One target layer: where its weight is fed, which output carries its input, and its original weight. */
    public record Target(String module, String weightInput, String activation, int in, int out, INDArray w0) {
    }

    /**
     * The edited model and its targets, in graph order; {@code vocabulary}: the rows of the embedding table that
     * {@code input_ids} index (0 when the graph has no such Gather).
     */
    public record Edited(byte[] model, Map<String, Target> targets, List<String> graphInputs, String output, long vocabulary) {
    }

    private OnnxGraphEditor() {
    }

    /** Rows of the embedding table a Gather on input_ids reads (the vocabulary size), or 0. */
    static long vocabulary(Onnx.GraphProto graph, Map<String, Onnx.TensorProto> initializers) {
        for (Onnx.NodeProto n : graph.getNodeList()) {
            if (n.getOpType().equals("Gather") && n.getInputCount() == 2 && n.getInput(1).equals("input_ids")) {
                Onnx.TensorProto table = initializers.get(n.getInput(0));
                if (table != null && table.getDimsCount() == 2) {
                    return table.getDims(0);
                }
            }
        }
        return 0;
    }

    /**
     * @param extraOutputs further tensors to expose as outputs (diagnostics and tests)
     */
    public static Edited edit(byte[] modelBytes, String source, List<String> targetModules, List<String> extraOutputs) {
        Onnx.ModelProto model;
        try {
            model = Onnx.ModelProto.parseFrom(modelBytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(source + " is not an ONNX model: " + e.getMessage(), e);
        }
        Onnx.GraphProto graph = model.getGraph();
        if (graph.getOutputCount() == 0) {
            throw new IllegalArgumentException(source + ": the graph has no outputs");
        }
        Map<String, Onnx.TensorProto> initializers = new LinkedHashMap<>();
        graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
        Onnx.GraphProto.Builder g = graph.toBuilder();
        Map<String, Target> targets = new LinkedHashMap<>();
        Set<String> activations = new LinkedHashSet<>();
        Set<String> removed = new LinkedHashSet<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            Onnx.NodeProto node = g.getNode(i);
            String module = moduleName(node.getName());
            if (module == null || !(targetModules.contains(module) || targetModules.contains(module.substring(module.lastIndexOf('.') + 1)))) {
                continue;
            }
            if (!node.getOpType().equals("MatMul")) {
                throw new IllegalArgumentException(source + ": target " + module + " is a " + node.getOpType()
                        + " node; only MatMul with an initializer weight is supported");
            }
            Onnx.TensorProto w = initializers.get(node.getInput(1));
            if (w == null || w.getDimsCount() != 2 || w.getDataType() != Onnx.TensorProto.DataType.FLOAT_VALUE) {
                throw new IllegalArgumentException(source + ": target " + module + " (node " + node.getName()
                        + ") has no float32 2-D initializer weight; a quantised or computed weight cannot be fed");
            }
            int in = (int) w.getDims(0);
            int out = (int) w.getDims(1);
            String input = WEIGHT_INPUT_PREFIX + module;
            targets.put(module, new Target(module, input, node.getInput(0), in, out, weight(w, in, out, source, module)));
            activations.add(node.getInput(0));
            removed.add(w.getName());
            g.setNode(i, node.toBuilder().setInput(1, input).build());
            g.addInput(floatInput(input, in, out));
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException(source + ": no MatMul node matches the target modules " + targetModules);
        }
        for (String name : removed) {
            // a weight shared by another node cannot be fed for one of them only
            long uses = graph.getNodeList().stream().filter(n -> n.getInputList().contains(name)).count();
            if (uses > 1) {
                throw new IllegalArgumentException(source + ": weight " + name + " is used by " + uses + " nodes");
            }
        }
        List<Onnx.TensorProto> kept = new ArrayList<>(graph.getInitializerList().stream().filter(t -> !removed.contains(t.getName())).toList());
        g.clearInitializer().addAllInitializer(kept);
        Set<String> outputs = new LinkedHashSet<>(activations);
        outputs.addAll(extraOutputs);
        for (String o : outputs) {
            g.addOutput(Onnx.ValueInfoProto.newBuilder().setName(o).setType(Onnx.TypeProto.newBuilder()
                    .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE))));
        }
        List<String> graphInputs = graph.getInputList().stream().map(Onnx.ValueInfoProto::getName)
                .filter(n -> !initializers.containsKey(n)).toList();
        byte[] edited = model.toBuilder().setGraph(g).build().toByteArray();
        return new Edited(edited, targets, graphInputs, graph.getOutput(0).getName(), vocabulary(graph, initializers));
    }

    /** {@code /a/b.0/c/MatMul} → {@code a.b.0.c}; null for nodes that are not a module's MatMul or Gemm. */
    static String moduleName(String nodeName) {
        for (String op : List.of("/MatMul", "/Gemm")) {
            if (nodeName.startsWith("/") && nodeName.endsWith(op) && nodeName.length() > op.length() + 1) {
                return nodeName.substring(1, nodeName.length() - op.length()).replace('/', '.');
            }
        }
        return null;
    }

    private static Onnx.ValueInfoProto floatInput(String name, int in, int out) {
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE).setShape(
                        Onnx.TensorShapeProto.newBuilder()
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(in))
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(out))))).build();
    }

    /** The initializer [in, out] as the layer's weight W [out, in] in float64. */
    private static INDArray weight(Onnx.TensorProto t, int in, int out, String source, String module) {
        float[] v = OnnxTensorSource.floats(t);
        if (v == null) {
            throw new IllegalArgumentException(source + ": the weight of " + module
                    + " is kept outside the model file (external data), which is not supported");
        }
        float[] w = OnnxTensorSource.transposed(v, in, out);
        double[] d = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            d[i] = w[i];
        }
        return Matrices.of(d, out, in);
    }

}
