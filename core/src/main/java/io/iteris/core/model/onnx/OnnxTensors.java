package io.iteris.core.model.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.HalfFloats;
import onnx.Onnx;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/** Values into and out of ONNX Runtime tensors: element types, shapes, sizes. */
final class OnnxTensors {
    private OnnxTensors() {
    }

    static long bytes(OnnxTensor t) {
        return t.getInfo().getNumElements() * t.getInfo().type.size;
    }

    static INDArray square(OnnxTensor t, int in) {
        java.nio.DoubleBuffer b = t.getDoubleBuffer();
        double[] v = new double[b.remaining()];
        b.get(v);
        return Matrices.of(v, in, in);
    }

    /**
     * A product AᵀA as computed (its two triangles may be summed in different orders by a blocked kernel) made exactly
     * symmetric, as the host's {@code Blas.gram} makes it.
     */
    static INDArray symmetric(OnnxTensor t, int in) {
        return Matrices.symmetrize(square(t, in));
    }

    /** Values as a tensor of an ONNX element type: float32, float16 or bfloat16. */
    static OnnxTensor typed(OrtEnvironment env, float[] v, long[] shape, int elemType) throws OrtException {
        if (elemType == Onnx.TensorProto.DataType.FLOAT_VALUE) {
            return OnnxTensor.createTensor(env, FloatBuffer.wrap(v), shape);
        }
        boolean half = elemType == Onnx.TensorProto.DataType.FLOAT16_VALUE;
        ByteBuffer b = ByteBuffer.allocateDirect(v.length * 2).order(ByteOrder.nativeOrder());
        for (float f : v) {
            b.putShort(half ? HalfFloats.floatToHalf(f) : HalfFloats.floatToBf16(f));
        }
        b.flip();
        return OnnxTensor.createTensor(env, b, shape, half ? OnnxJavaType.FLOAT16 : OnnxJavaType.BFLOAT16);
    }

    /** An output as float64, from float32, float16 or bfloat16. */
    static INDArray toArray(OnnxTensor t) {
        long[] shape = t.getInfo().getShape();
        OnnxJavaType type = t.getInfo().type;
        float[] v;
        if (type == OnnxJavaType.FLOAT16 || type == OnnxJavaType.BFLOAT16) {
            ByteBuffer b = t.getByteBuffer().order(ByteOrder.nativeOrder());
            v = OnnxModelFile.decode(b, b.remaining() / 2, type == OnnxJavaType.FLOAT16 ? DType.F16 : DType.BF16);
        } else {
            FloatBuffer fb = t.getFloatBuffer();
            v = new float[fb.remaining()];
            fb.get(v);
        }
        return Nd4j.create(v, shape, DataType.FLOAT).castTo(DataType.DOUBLE);
    }

    static long[] flatten(long[][] v) {
        long[] out = new long[v.length * v[0].length];
        for (int i = 0; i < v.length; i++) {
            System.arraycopy(v[i], 0, out, i * v[0].length, v[0].length);
        }
        return out;
    }
}
