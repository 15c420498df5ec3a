package io.iteris.core.model.onnx;

import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsException;
import io.iteris.core.safetensors.TensorInfo;
import io.iteris.core.safetensors.TensorSource;
import onnx.Onnx;
import org.nd4j.shade.protobuf.InvalidProtocolBufferException;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The float32 weights of an ONNX model as named tensors, so an exported transformer serves as a merge's base
 * model. Initializers keep their names ({@code encoder.layer.0.attention.output.LayerNorm.weight}); a
 * module's {@code MatMul} weight, which exporters store transposed under a generated name
 * ({@code onnx::MatMul_787} [in, out]), is also offered as {@code <module>.weight} in nn.Linear's
 * [out, in] layout, the module named as {@link OnnxGraphEditor} names it.
 */
public final class OnnxTensorSource implements TensorSource {
    private record Entry(Onnx.TensorProto tensor, boolean transpose, TensorInfo info) {
    }

    private final Path location;
    private final byte[] bytes;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    private OnnxTensorSource(Path location, byte[] bytes, Onnx.GraphProto graph) {
        this.location = location;
        this.bytes = bytes;
        Map<String, Onnx.TensorProto> initializers = new LinkedHashMap<>();
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
            if (t.getDataType() == Onnx.TensorProto.DataType.FLOAT_VALUE) {
                entries.put(t.getName(), new Entry(t, false, info(t.getName(), dims(t))));
            }
        }
        for (Onnx.NodeProto node : graph.getNodeList()) {
            String module = OnnxGraphEditor.moduleName(node.getName());
            Onnx.TensorProto w = node.getOpType().equals("MatMul") && node.getInputCount() == 2 ? initializers.get(node.getInput(1)) : null;
            if (module != null && w != null && w.getDimsCount() == 2 && w.getDataType() == Onnx.TensorProto.DataType.FLOAT_VALUE) {
                String key = module + ".weight";
                entries.put(key, new Entry(w, true, info(key, new long[]{w.getDims(1), w.getDims(0)})));
            }
        }
    }

    public static OnnxTensorSource open(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new SafetensorsException(file, "cannot read the ONNX model: " + e.getMessage(), e);
        }
        return of(file, bytes);
    }

    public static OnnxTensorSource of(Path location, byte[] bytes) {
        try {
            return new OnnxTensorSource(location, bytes, Onnx.ModelProto.parseFrom(bytes).getGraph());
        } catch (InvalidProtocolBufferException e) {
            throw new SafetensorsException(location, "is not an ONNX model: " + e.getMessage(), e);
        }
    }

    /** The model file's bytes, for a runner to build its session from. */
    public byte[] modelBytes() {
        return bytes;
    }

    @Override
    public Path location() {
        return location;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    @Override
    public TensorInfo info(String name) {
        return entry(name).info();
    }

    @Override
    public double[] readDoubles(String name) {
        float[] f = readFloats(name);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    @Override
    public float[] readFloats(String name) {
        Entry e = entry(name);
        Onnx.TensorProto t = e.tensor();
        float[] v;
        try {
            v = floats(t);
        } catch (IllegalArgumentException | ArithmeticException bad) {
            throw new SafetensorsException(location, name, bad.getMessage());
        }
        if (v == null) {
            throw new SafetensorsException(location, name, "keeps its values outside the model file (external data), which is not supported");
        }
        return e.transpose() ? transposed(v, (int) t.getDims(0), (int) t.getDims(1)) : v;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new SafetensorsException(location, name, "not found among the model's float32 weights");
        }
        return e;
    }

    /**
     * An initializer's float32 values in the file's C order; null when they are kept outside the file. Its size is
     * checked against its dimensions before anything is allocated.
     *
     * @throws IllegalArgumentException when the dimensions are bad or the stored bytes do not match them
     */
    static float[] floats(Onnx.TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) {
            if (d < 0) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' has a negative dimension " + t.getDimsList());
            }
            n = Math.multiplyExact(n, d);
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "' " + t.getDimsList() + " has " + n + " values, more than one array holds");
        }
        if (!t.getRawData().isEmpty()) {
            if (t.getRawData().size() != n * 4) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' " + t.getDimsList() + " should hold " + n * 4
                        + " bytes of float32 but holds " + t.getRawData().size());
            }
            float[] v = new float[(int) n];
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            return v;
        }
        if (t.getFloatDataCount() == n) {
            float[] v = new float[(int) n];
            for (int i = 0; i < n; i++) {
                v[i] = t.getFloatData(i);
            }
            return v;
        }
        if (t.getFloatDataCount() != 0) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "' " + t.getDimsList() + " should hold " + n
                    + " float32 values but holds " + t.getFloatDataCount());
        }
        return null;
    }

    /** A MatMul weight [in, out] (C order) as nn.Linear's [out, in]. */
    static float[] transposed(float[] v, int in, int out) {
        float[] w = new float[v.length];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                w[o * in + i] = v[i * out + o];
            }
        }
        return w;
    }

    private static long[] dims(Onnx.TensorProto t) {
        long[] d = new long[t.getDimsCount()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.getDims(i);
        }
        return d;
    }

    private static TensorInfo info(String name, long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return new TensorInfo(name, DType.F32, shape, 0, n * 4);
    }
}
