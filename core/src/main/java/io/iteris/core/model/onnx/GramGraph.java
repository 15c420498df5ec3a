package io.iteris.core.model.onnx;

import onnx.Onnx;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Gram statistics as part of the edited graph, so ONNX Runtime computes them where it runs the model and only
 * in×in matrices leave the device ({@link Device.Gram#DEVICE}). Per captured activation A [B, T, in] (one per
 * group of targets that read the same tensor) it adds, in float64:
 * <pre>
 *   Ã = Cast(Gather(Reshape(A, [-1, in]), rows))   rows: input iteris.gram.rows.A, the kept rows' indices in B·T
 *   H = ÃᵀÃ                                        output iteris.gram.H.A
 *   C = XᵀÃ                                        output iteris.gram.C.A   X: input iteris.gram.X.A [kept, in], A's type
 *   G = X'ᵀX'                                      output iteris.gram.G.A   X': input iteris.gram.XG.A, X or [0, in]
 * </pre>
 * X is the task model's inputs for the same rows, fed back from the host. The products are {@code Gemm} with
 * {@code transA} (float64 kernels on the CPU and CUDA providers). ONNX Runtime runs every node of a graph, whichever
 * outputs are fetched, so an activation whose statistics a pass does not want (every one, in a pass that only captures)
 * gets no rows and an empty X (its products are then of zero rows, and not fetched), and X' is X only when G is wanted.
 */
final class GramGraph {
    private static final int DOUBLE = Onnx.TensorProto.DataType.DOUBLE_VALUE;

    /** The names belonging to one captured activation. */
    record Names(String activation, int in, int elemType, String rows, String x, String xg, String h, String c, String g) {
    }

    private GramGraph() {
    }

    /**
     * Adds the statistics of every activation in {@code activations} (name → [in, element type]) to {@code g}; X is fed in
     * the activation's own type (values captured from it are exact there, and half as many bytes in a float16 model);
     * {@code opset} is the model's default-domain opset (Gemm without its C input needs 11).
     */
    static Map<String, Names> add(Onnx.GraphProto.Builder g, Map<String, int[]> activations, long opset, String source) {
        if (opset < 11) {
            throw new IllegalArgumentException(source + ": Gram statistics on the device need ONNX opset 11 or later (the model has "
                    + opset + "); set iteris.engine.worker.gram = host");
        }
        Map<String, Names> out = new LinkedHashMap<>();
        Map<Integer, String> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : activations.entrySet()) {
            String a = e.getKey();
            int in = e.getValue()[0];
            int type = e.getValue()[1];
            String shape = shapes.computeIfAbsent(in, w -> {
                String name = "iteris.gram.shape." + w;
                g.addInitializer(Onnx.TensorProto.newBuilder().setName(name).setDataType(Onnx.TensorProto.DataType.INT64_VALUE)
                        .addDims(2).addInt64Data(-1).addInt64Data(w));
                return name;
            });
            String p = "iteris.gram.";
            Names n = new Names(a, in, type, p + "rows." + a, p + "X." + a, p + "XG." + a, p + "H." + a, p + "C." + a, p + "G." + a);
            String flat = p + "flat." + a;
            String kept = p + "kept." + a;
            String tilde = p + "f64." + a;
            g.addNode(node("Reshape", List.of(a, shape), flat, null));
            g.addInput(tensor(n.rows(), Onnx.TensorProto.DataType.INT64_VALUE, List.of(-1L)));
            g.addNode(node("Gather", List.of(flat, n.rows()), kept, int64Attribute("axis", 0)));
            g.addNode(node("Cast", List.of(kept), tilde, int64Attribute("to", DOUBLE)));
            g.addNode(gemm(tilde, tilde, n.h()));
            for (String x : List.of(n.x(), n.xg())) {
                g.addInput(tensor(x, type, List.of(-1L, (long) in)));
                g.addNode(node("Cast", List.of(x), x + ".f64", int64Attribute("to", DOUBLE)));
            }
            g.addNode(gemm(n.x() + ".f64", tilde, n.c()));
            g.addNode(gemm(n.xg() + ".f64", n.xg() + ".f64", n.g()));
            for (String o : List.of(n.h(), n.c(), n.g())) {
                g.addOutput(tensor(o, DOUBLE, List.of((long) in, (long) in)));
            }
            out.put(a, n);
        }
        return out;
    }

    private static Onnx.NodeProto gemm(String a, String b, String out) {
        return node("Gemm", List.of(a, b), out, int64Attribute("transA", 1));
    }

    private static Onnx.AttributeProto int64Attribute(String name, long value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(value).build();
    }

    private static Onnx.NodeProto node(String op, List<String> inputs, String output, Onnx.AttributeProto attribute) {
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName(output + "/" + op).addAllInput(inputs).addOutput(output);
        if (attribute != null) {
            n.addAttribute(attribute);
        }
        return n.build();
    }

    /**
     * A tensor value; a dimension of −1 is left symbolic, named after the value (ONNX Runtime takes dimensions of one
     * name to be equal, and plans buffers by it, so X and X' must not share one).
     */
    private static Onnx.ValueInfoProto tensor(String name, int elemType, List<Long> dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam(name + ".rows")
                    : Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }
}
