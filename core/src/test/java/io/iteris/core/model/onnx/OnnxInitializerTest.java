package io.iteris.core.model.onnx;

import org.nd4j.shade.protobuf.ByteString;
import io.iteris.core.safetensors.SafetensorsException;
import org.junit.jupiter.api.Test;
import onnx.Onnx;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An initializer's stored size is checked against its dimensions before anything is allocated for it. */
class OnnxInitializerTest {

    private static Onnx.TensorProto.Builder tensor(String name, long... dims) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) {
            t.addDims(d);
        }
        return t;
    }

    static final OnnxModelFile FILE = OnnxModelFile.of(Path.of("m.onnx"), Onnx.ModelProto.newBuilder().build().toByteArray());

    @Test
    void rawDataMustMatchTheDimensions() {
        byte[] four = new byte[16];
        java.nio.ByteBuffer.wrap(four).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(1).putFloat(2).putFloat(3).putFloat(4);
        assertArrayEquals(new float[]{1, 2, 3, 4}, FILE.floats(tensor("w", 2, 2).setRawData(ByteString.copyFrom(four)).build()));

        // dims claiming 2^31 values with 16 bytes stored: refused, nothing allocated
        SafetensorsException huge = assertThrows(SafetensorsException.class,
                () -> FILE.floats(tensor("huge", 65536, 32768).setRawData(ByteString.copyFrom(four)).build()));
        assertTrue(huge.getMessage().contains("'huge'") && huge.getMessage().contains("more than one array holds"), huge.getMessage());
        SafetensorsException wrong = assertThrows(SafetensorsException.class,
                () -> FILE.floats(tensor("w", 3, 2).setRawData(ByteString.copyFrom(four)).build()));
        assertTrue(wrong.getMessage().contains("should hold 24 bytes") && wrong.getMessage().contains("holds 16"), wrong.getMessage());
        assertThrows(SafetensorsException.class, () -> FILE.floats(tensor("neg", -1, 4).build()));
        assertThrows(SafetensorsException.class, () -> FILE.floats(tensor("overflow", Long.MAX_VALUE, 4).build()));
        SafetensorsException empty = assertThrows(SafetensorsException.class, () -> FILE.floats(tensor("empty", 2, 2).build()));
        assertTrue(empty.getMessage().contains("should hold 4 float32 values but holds 0"), empty.getMessage());
    }

    @Test
    void aModelWhoseTargetWeightIsTruncatedIsRefusedNamingTheFileAndTheTensor() {
        Onnx.GraphProto g = Onnx.GraphProto.newBuilder()
                .addInitializer(tensor("w", 4, 4).setRawData(ByteString.copyFrom(new byte[8])))
                .build();
        byte[] model = Onnx.ModelProto.newBuilder().setGraph(g).build().toByteArray();
        OnnxTensorSource src = OnnxTensorSource.of(Path.of("model.onnx"), model);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> src.readFloats("w"));
        assertTrue(e.getMessage().contains("model.onnx") && e.getMessage().contains("should hold 64 bytes"), e.getMessage());
    }
}
