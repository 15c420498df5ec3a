package io.iteris.core.model.onnx;

import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsException;
import io.iteris.core.safetensors.TensorInfo;
import io.iteris.core.safetensors.TensorSource;
import onnx.Onnx;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The weights of an ONNX model (float32, float16 or bfloat16; in the file or in external data files) as named
 * tensors, so an exported transformer serves as a merge's base model. Initializers keep their names
 * ({@code encoder.layer.0.attention.output.LayerNorm.weight}); a module's {@code MatMul} weight, which exporters
 * store transposed under a generated name ({@code onnx::MatMul_787} [in, out]), is also offered as
 * {@code <module>.weight} in nn.Linear's [out, in] layout, the module named by {@link ModuleNames}. Values are
 * read when asked for, one tensor at a time.
 */
public final class OnnxTensorSource implements TensorSource {
    private record Entry(Onnx.TensorProto tensor, boolean transpose, TensorInfo info) {
    }

    private final OnnxModelFile file;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    private OnnxTensorSource(OnnxModelFile file, ModuleNames names) {
        this.file = file;
        Onnx.GraphProto graph = file.proto().getGraph();
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            DType type = OnnxModelFile.dtype(t);
            if (type != null) {
                entries.put(t.getName(), new Entry(t, false, info(t.getName(), dims(t), type)));
            }
        }
        for (Onnx.NodeProto node : graph.getNodeList()) {
            String module = names.module(node.getName());
            Onnx.TensorProto w = node.getOpType().equals("MatMul") && node.getInputCount() == 2 ? file.initializers().get(node.getInput(1)) : null;
            DType type = w == null ? null : OnnxModelFile.dtype(w);
            if (module != null && type != null && w.getDimsCount() == 2) {
                String key = module + ".weight";
                entries.put(key, new Entry(w, true, info(key, new long[]{w.getDims(1), w.getDims(0)}, type)));
            }
        }
    }

    public static OnnxTensorSource open(Path file) {
        return open(file, ModuleNames.DEFAULT);
    }

    public static OnnxTensorSource open(Path file, ModuleNames names) {
        return new OnnxTensorSource(OnnxModelFile.open(file), names);
    }

    public static OnnxTensorSource of(Path location, byte[] bytes) {
        return new OnnxTensorSource(OnnxModelFile.of(location, bytes), ModuleNames.DEFAULT);
    }

    /** The model file, for a runner to build its session from. */
    public OnnxModelFile model() {
        return file;
    }

    /** The model file's bytes, for a runner to build its session from. */
    public byte[] modelBytes() {
        return file.bytes();
    }

    @Override
    public Path location() {
        return file.location();
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
        float[] v = file.floats(t);
        return e.transpose() ? transposed(v, (int) t.getDims(0), (int) t.getDims(1)) : v;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new SafetensorsException(file.location(), name, "not found among the model's float32, float16 and bfloat16 weights");
        }
        return e;
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

    private static TensorInfo info(String name, long[] shape, DType type) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return new TensorInfo(name, type, shape, 0, n * type.bytes());
    }
}
