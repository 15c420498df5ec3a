package io.iteris.core.model;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.onnx.OnnxTensorSource;
import io.iteris.core.safetensors.SafetensorsException;
import io.iteris.core.safetensors.TensorInfo;
import io.iteris.core.safetensors.TensorSource;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;

/**
 * The pretrained checkpoint the adapters were trained on. Weights are read lazily, one module at a
 * time, and always handed out in the nn.Linear layout [out×in] (transposed when stored fan-in-fan-out).
 */
public final class BaseModel {
    private final TensorSource source;

    public BaseModel(TensorSource source) {
        this.source = source;
    }

    /** A safetensors checkpoint, or an ONNX model's weights ({@link OnnxTensorSource}). */
    public static BaseModel open(Path path) {
        return open(path, io.iteris.core.model.onnx.ModuleNames.DEFAULT);
    }

    /** As above, an ONNX model's module names derived by {@code names}. */
    public static BaseModel open(Path path, io.iteris.core.model.onnx.ModuleNames names) {
        if (path.getFileName().toString().endsWith(".onnx")) {
            return new BaseModel(OnnxTensorSource.open(path, names));
        }
        return new BaseModel(TensorSource.open(path));
    }

    public TensorSource source() {
        return source;
    }

    public static String weightKey(String module) {
        return module + ".weight";
    }

    /** Shape [out, in] of a module's weight, checked to be a matrix. */
    public long[] linearShape(String module, boolean fanInFanOut) {
        String key = weightKey(module);
        if (!source.contains(key)) {
            throw new SafetensorsException(source.location(), key, "not found: the adapters target module '" + module
                    + "', which this base model does not have (is it the adapters' base model?)");
        }
        TensorInfo t = source.info(key);
        if (t.rank() != 2) {
            throw new SafetensorsException(source.location(), key, "is " + t.shapeString() + ", not a linear layer's matrix");
        }
        return fanInFanOut ? new long[]{t.shape()[1], t.shape()[0]} : t.shape().clone();
    }

    /** W0 [out×in] in float64; a weight holding NaN or an infinity is refused. */
    public INDArray weight(String module, boolean fanInFanOut) {
        String key = weightKey(module);
        TensorInfo t = source.info(key);
        INDArray w = Matrices.of(finite(key, source.readDoubles(key)), t.shape()[0], t.shape()[1]);
        return fanInFanOut ? w.transpose().dup('c') : w;
    }

    /** Any tensor as float64, for runner parameters (biases, feedback matrices); NaN and infinities refused. */
    public double[] values(String key) {
        return finite(key, source.readDoubles(key));
    }

    private double[] finite(String key, double[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new SafetensorsException(source.location(), key, "holds " + v[i] + " at index " + i
                        + ": a base model with non-finite weights cannot be merged onto");
            }
        }
        return v;
    }

    public TensorInfo info(String key) {
        return source.info(key);
    }
}
