package io.iteris.core.model.onnx;

import io.iteris.core.linalg.Matrices;
import onnx.Onnx;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
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
 * Other exporters' names map through {@link ModuleNames}.
 * Supported: {@code MatMul} with a 2-D float32, float16 or bfloat16 initializer weight [in, out] (what torch.onnx
 * exports for {@code nn.Linear}), in the file or in external data; a target exported as {@code Gemm}, or quantised,
 * is refused by name.
 */
public final class OnnxGraphEditor {
    /**
     * External initializers and {@code Constant} tensors up to this size are put into the edited graph. ONNX Runtime's shape inference reads
     * some initializers' values (a Reshape's shape, an Unsqueeze's axes, scalars) and, for a graph handed over as
     * bytes, cannot take them from a data file even with the model's folder configured; exporters that write every
     * tensor externally ({@code size_threshold=0}) would be refused. Such tensors are a few bytes; 1 KiB is the
     * {@code onnx} package's own default threshold, below which it keeps tensors in the graph. The weights stay mapped.
     */
    static final long INLINE_BYTES = 1024;

    /** Input-name prefix of a fed weight. */
    public static final String WEIGHT_INPUT_PREFIX = "iteris.weight.";

    /**
     * One target layer: where its weight is fed (in the weight's own element type, {@code elemType}), which output
     * carries its input, and its original weight's initializer (values read only when asked for).
     */
    public record Target(String module, String weightInput, String activation, int in, int out, int elemType, Onnx.TensorProto weight) {
    }

    /**
     * The edited model and its targets, in graph order; {@code vocabulary}: the rows of the embedding table that
     * {@code input_ids} index (0 when the graph has no such Gather).
     */
    public record Edited(byte[] model, Map<String, Target> targets, List<String> graphInputs, String output, long vocabulary,
                         OnnxModelFile file, Map<String, GramGraph.Names> grams) {
        /** A target's original weight W0 [out, in] in float64, read from the model (and its external data). */
        public INDArray w0(String module) {
            Target t = targets.get(module);
            float[] w = OnnxTensorSource.transposed(file.floats(t.weight()), t.in(), t.out());
            double[] d = new double[w.length];
            for (int i = 0; i < w.length; i++) {
                d[i] = w[i];
            }
            return Matrices.of(d, t.out(), t.in());
        }
    }

    private OnnxGraphEditor() {
    }

    /** The model's vocabulary (rows of the embedding input_ids index), or 0 when the graph has no such Gather. */
    public static long vocabulary(OnnxModelFile model) {
        return vocabulary(model.proto().getGraph(), model.initializers());
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
        OnnxModelFile file;
        try {
            file = OnnxModelFile.of(Path.of(source), modelBytes);
        } catch (io.iteris.core.safetensors.SafetensorsException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return edit(file, ModuleNames.DEFAULT, targetModules, extraOutputs);
    }

    /**
     * The graph with every target's weight turned into an input and every target's input activation into an output.
     * Only the graph is rewritten: other initializers stay where they are (in the file or in external data), so no
     * message ever holds the weights of a model over 2 GB.
     */
    public static Edited edit(OnnxModelFile file, ModuleNames names, List<String> targetModules, List<String> extraOutputs) {
        return edit(file, names, targetModules, extraOutputs, false);
    }

    /** As above; with {@code gram}, the captured activations' Gram statistics are computed in the graph too ({@link GramGraph}). */
    public static Edited edit(OnnxModelFile file, ModuleNames names, List<String> targetModules, List<String> extraOutputs, boolean gram) {
        String source = file.location().toString();
        Onnx.ModelProto model = file.proto();
        Onnx.GraphProto graph = model.getGraph();
        if (graph.getOutputCount() == 0) {
            throw new IllegalArgumentException(source + ": the graph has no outputs");
        }
        Map<String, Onnx.TensorProto> initializers = new LinkedHashMap<>();
        graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
        Onnx.GraphProto.Builder g = graph.toBuilder();
        Map<String, Target> targets = new LinkedHashMap<>();
        Map<String, Integer> activations = new LinkedHashMap<>();
        Set<String> removed = new LinkedHashSet<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            Onnx.NodeProto node = g.getNode(i);
            String module = names.module(node.getName());
            if (module == null || !(targetModules.contains(module) || targetModules.contains(module.substring(module.lastIndexOf('.') + 1)))) {
                continue;
            }
            if (!node.getOpType().equals("MatMul")) {
                throw new IllegalArgumentException(source + ": target " + module + " is a " + node.getOpType()
                        + " node; only MatMul with an initializer weight is supported");
            }
            Onnx.TensorProto w = initializers.get(node.getInput(1));
            if (w == null || w.getDimsCount() != 2 || OnnxModelFile.dtype(w) == null) {
                throw new IllegalArgumentException(source + ": target " + module + " (node " + node.getName()
                        + ") has no 2-D float32, float16 or bfloat16 initializer weight; a quantised or computed weight cannot be fed");
            }
            int in = (int) w.getDims(0);
            int out = (int) w.getDims(1);
            String input = WEIGHT_INPUT_PREFIX + module;
            targets.put(module, new Target(module, input, node.getInput(0), in, out, w.getDataType(), w));
            activations.put(node.getInput(0), w.getDataType());
            removed.add(w.getName());
            g.setNode(i, node.toBuilder().setInput(1, input).build());
            g.addInput(typedInput(input, in, out, w.getDataType()));
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
        List<Onnx.TensorProto> kept = new ArrayList<>(graph.getInitializerList().stream().filter(t -> !removed.contains(t.getName()))
                .map(t -> inlinedIfSmall(file, t)).toList());
        g.clearInitializer().addAllInitializer(kept);
        file.constants().forEach((i, t) -> {
            Onnx.TensorProto inlined = inlinedIfSmall(file, t);
            if (inlined != t) {
                Onnx.NodeProto.Builder node = g.getNodeBuilder(i);
                for (int a = 0; a < node.getAttributeCount(); a++) {
                    if (node.getAttribute(a).getName().equals("value")) {
                        node.setAttribute(a, node.getAttribute(a).toBuilder().setT(inlined));
                    }
                }
            }
        });
        // a captured input has its layer's element type (float16 in a float16 model)
        Map<String, Integer> outputs = new LinkedHashMap<>(activations);
        extraOutputs.forEach(o -> outputs.putIfAbsent(o, Onnx.TensorProto.DataType.FLOAT_VALUE));
        outputs.forEach((o, type) -> g.addOutput(Onnx.ValueInfoProto.newBuilder().setName(o).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(type)))));
        List<String> graphInputs = graph.getInputList().stream().map(Onnx.ValueInfoProto::getName)
                .filter(n -> !initializers.containsKey(n)).toList();
        Map<String, GramGraph.Names> grams = Map.of();
        if (gram) {
            Map<String, int[]> widths = new LinkedHashMap<>();
            targets.values().forEach(t -> widths.putIfAbsent(t.activation(), new int[]{t.in(), t.elemType()}));
            long opset = model.getOpsetImportList().stream().filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                    .mapToLong(Onnx.OperatorSetIdProto::getVersion).max().orElse(0);
            grams = GramGraph.add(g, widths, opset, source);
        }
        byte[] edited = model.toBuilder().setGraph(g).build().toByteArray();
        return new Edited(edited, targets, graphInputs, graph.getOutput(0).getName(), vocabulary(graph, initializers), file, grams);
    }

    /** An external tensor of at most {@link #INLINE_BYTES} read into the graph; any other tensor as it is. */
    private static Onnx.TensorProto inlinedIfSmall(OnnxModelFile file, Onnx.TensorProto t) {
        return OnnxModelFile.external(t) && file.externalLength(t) <= INLINE_BYTES ? file.inlined(t) : t;
    }

    private static Onnx.ValueInfoProto typedInput(String name, int in, int out, int elemType) {
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(
                        Onnx.TensorShapeProto.newBuilder()
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(in))
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(out))))).build();
    }
}
