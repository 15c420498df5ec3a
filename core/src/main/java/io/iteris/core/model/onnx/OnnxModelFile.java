package io.iteris.core.model.onnx;

import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.HalfFloats;
import io.iteris.core.safetensors.SafetensorsException;
import onnx.Onnx;
import org.nd4j.shade.protobuf.InvalidProtocolBufferException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ONNX model on disk: the graph (the {@code .onnx} file, parsed) and its initializers' values, kept in the file or,
 * as every export over 2 GB does, in external data files beside it ({@code external_data}: location, offset, length).
 * External values are memory-mapped one tensor at a time when read, never copied onto the heap as a whole file;
 * their files lie in the model's directory or a folder below it, and every external entry is checked when the model
 * is opened ({@link ExternalData}). Float32, float16 and bfloat16 initializers convert to float.
 */
public final class OnnxModelFile {
    /** Protobuf messages cannot exceed 2 GiB: a larger model keeps its weights as external data. */
    static final long MAX_PROTO_BYTES = Integer.MAX_VALUE;

    private final Path location;
    private final byte[] bytes;
    private final Onnx.ModelProto model;
    private final Map<String, Onnx.TensorProto> initializers = new LinkedHashMap<>();
    private final ExternalData data;

    private OnnxModelFile(Path location, byte[] bytes, Onnx.ModelProto model) {
        this.location = location;
        this.bytes = bytes;
        this.model = model;
        model.getGraph().getInitializerList().forEach(t -> initializers.put(t.getName(), t));
        this.data = new ExternalData(directory());
    }

    public static OnnxModelFile open(Path file) {
        try {
            if (Files.size(file) > MAX_PROTO_BYTES) {
                throw new SafetensorsException(file, "is larger than 2 GiB, which no ONNX file can be: export its weights as external data"
                        + " (save_as_external_data=True); the .onnx then holds the graph and model.onnx_data the weights");
            }
            return of(file, Files.readAllBytes(file));
        } catch (IOException e) {
            throw new SafetensorsException(file, "cannot read the ONNX model: " + e.getMessage(), e);
        }
    }

    /**
     * A model whose bytes are at hand; external data, if any, is looked for beside {@code location}, and every external
     * initializer's entries are checked against its file ({@link #checkExternalData}).
     */
    public static OnnxModelFile of(Path location, byte[] bytes) {
        OnnxModelFile model;
        try {
            model = new OnnxModelFile(location, bytes, Onnx.ModelProto.parseFrom(bytes));
        } catch (InvalidProtocolBufferException e) {
            throw new SafetensorsException(location, "is not an ONNX model: " + e.getMessage(), e);
        }
        model.checkExternalData();
        return model;
    }

    public Path location() {
        return location;
    }

    /** The .onnx file's bytes (the graph, and the weights kept in it). */
    public byte[] bytes() {
        return bytes;
    }

    public Onnx.ModelProto proto() {
        return model;
    }

    public Map<String, Onnx.TensorProto> initializers() {
        return initializers;
    }

    /** The directory external data locations are relative to. */
    public Path directory() {
        Path parent = location.toAbsolutePath().getParent();
        return parent == null ? Path.of(".").toAbsolutePath() : parent;
    }

    /** Whether any initializer keeps its values in an external file. */
    public boolean hasExternalData() {
        return initializers.values().stream().anyMatch(OnnxModelFile::external);
    }

    /** Whether a tensor (an initializer, or a Constant node's) keeps its values in an external data file. */
    public static boolean external(Onnx.TensorProto t) {
        return t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL;
    }

    /** The safetensors-style type of an initializer's elements; null for types that are not float32/16 or bfloat16. */
    public static DType dtype(Onnx.TensorProto t) {
        return switch (t.getDataType()) {
            case Onnx.TensorProto.DataType.FLOAT_VALUE -> DType.F32;
            case Onnx.TensorProto.DataType.FLOAT16_VALUE -> DType.F16;
            case Onnx.TensorProto.DataType.BFLOAT16_VALUE -> DType.BF16;
            default -> null;
        };
    }

    /** Number of values, checked: no negative dimension, at most what one Java array holds. */
    static long numel(Onnx.TensorProto t) {
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
        return n;
    }

    /**
     * An initializer's values as float (C order), from float32, float16 or bfloat16, stored in the file or externally.
     * Sizes are checked against the dimensions before anything is allocated.
     *
     * @throws SafetensorsException naming the model and the initializer when its values cannot be read
     */
    public float[] floats(Onnx.TensorProto t) {
        try {
            DType type = dtype(t);
            if (type == null) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' is of ONNX type " + t.getDataType()
                        + "; float32, float16 and bfloat16 weights are read");
            }
            long n = numel(t);
            ByteBuffer b = external(t) ? mapped(t) : inFile(t, n, type);
            if (b == null) {
                // float32 kept in float_data
                float[] v = new float[(int) n];
                for (int i = 0; i < n; i++) {
                    v[i] = t.getFloatData(i);
                }
                return v;
            }
            return decode(b.order(ByteOrder.LITTLE_ENDIAN), (int) n, type);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new SafetensorsException(location, t.getName(), e.getMessage());
        }
    }

    static float[] decode(ByteBuffer b, int n, DType type) {
        float[] v = new float[n];
        if (type == DType.F32) {
            b.asFloatBuffer().get(v);
        } else {
            java.nio.ShortBuffer s = b.asShortBuffer();
            for (int i = 0; i < n; i++) {
                v[i] = type == DType.F16 ? HalfFloats.halfToFloat(s.get(i)) : HalfFloats.bf16ToFloat(s.get(i));
            }
        }
        return v;
    }

    /** The values kept in the .onnx file: raw_data, or (float16/bfloat16) int32_data; null for float32 in float_data. */
    private static ByteBuffer inFile(Onnx.TensorProto t, long n, DType type) {
        long want = n * type.bytes();
        if (!t.getRawData().isEmpty()) {
            if (t.getRawData().size() != want) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' " + t.getDimsList() + " should hold " + want
                        + " bytes of " + type + " but holds " + t.getRawData().size());
            }
            return t.getRawData().asReadOnlyByteBuffer();
        }
        if (type == DType.F32) {
            if (t.getFloatDataCount() != n) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' " + t.getDimsList() + " should hold " + n
                        + " float32 values but holds " + t.getFloatDataCount());
            }
            return null;
        }
        if (t.getInt32DataCount() != n) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "' " + t.getDimsList() + " should hold " + n
                    + " " + type + " values but holds " + t.getInt32DataCount());
        }
        ByteBuffer b = ByteBuffer.allocate((int) want).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putShort((short) t.getInt32Data(i));
        }
        return b.flip();
    }

    /**
     * Checks every external tensor (initializers, and the tensors of {@code Constant} nodes, which {@code onnx} writes
     * out with {@code convert_attribute=True}): location, file, offset and length, before anything is mapped or handed
     * to ONNX Runtime, so that a broken export is refused when it is opened, naming the tensor and the data file,
     * rather than by whatever reads the tensor first.
     *
     * @throws SafetensorsException naming the model, the tensor and the data file
     */
    public void checkExternalData() {
        List<Onnx.TensorProto> all = new ArrayList<>(initializers.values());
        all.addAll(constants().values());
        for (Onnx.TensorProto t : all) {
            if (external(t)) {
                try {
                    data.check(t);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw new SafetensorsException(location, t.getName(), e.getMessage());
                }
            }
        }
    }

    /**
     * The tensors of the graph's {@code Constant} nodes (attribute {@code value}) by node index, each named after its
     * output when it has no name of its own.
     */
    public Map<Integer, Onnx.TensorProto> constants() {
        Map<Integer, Onnx.TensorProto> out = new LinkedHashMap<>();
        List<Onnx.NodeProto> nodes = model.getGraph().getNodeList();
        for (int i = 0; i < nodes.size(); i++) {
            Onnx.NodeProto n = nodes.get(i);
            if (n.getOpType().equals("Constant") && n.getOutputCount() == 1) {
                for (Onnx.AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value") && a.hasT()) {
                        out.put(i, a.getT().getName().isEmpty() ? a.getT().toBuilder().setName(n.getOutput(0)).build() : a.getT());
                    }
                }
            }
        }
        return out;
    }

    /** An external tensor's bytes, memory-mapped from its file after checking location, offset and length. */
    ByteBuffer mapped(Onnx.TensorProto t) {
        return data.mapped(t);
    }

    /**
     * Any initializer's values as the little-endian bytes {@code raw_data} would hold, from raw data, an external
     * file, or the typed fields ({@code float_data}, {@code int32_data}: also 8- and 16-bit types, {@code int64_data},
     * {@code double_data}, {@code uint64_data}).
     *
     * @throws SafetensorsException naming the model and the initializer when its values cannot be read
     */
    public ByteBuffer raw(Onnx.TensorProto t) {
        try {
            if (external(t)) {
                return mapped(t).order(ByteOrder.LITTLE_ENDIAN);
            }
            if (!t.getRawData().isEmpty()) {
                return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            }
            int size = elementBytes(t.getDataType());
            if (size == 0) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' is of ONNX type " + t.getDataType() + ", which has no raw form");
            }
            int n = (int) numel(t);
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(n, size)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                switch (t.getDataType()) {
                    case Onnx.TensorProto.DataType.FLOAT_VALUE -> b.putFloat(t.getFloatData(i));
                    case Onnx.TensorProto.DataType.DOUBLE_VALUE -> b.putDouble(t.getDoubleData(i));
                    case Onnx.TensorProto.DataType.INT64_VALUE -> b.putLong(t.getInt64Data(i));
                    case Onnx.TensorProto.DataType.UINT32_VALUE -> b.putInt((int) t.getUint64Data(i));
                    case Onnx.TensorProto.DataType.UINT64_VALUE -> b.putLong(t.getUint64Data(i));
                    default -> {
                        int v = t.getInt32Data(i);
                        switch (size) {
                            case 1 -> b.put((byte) v);
                            case 2 -> b.putShort((short) v);
                            case 4 -> b.putInt(v);
                            default -> throw new IllegalArgumentException("initializer '" + t.getName() + "' is of ONNX type "
                                    + t.getDataType() + ", which is not read from its typed fields");
                        }
                    }
                }
            }
            return b.flip();
        } catch (IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException e) {
            throw new SafetensorsException(location, t.getName(), e instanceof IndexOutOfBoundsException
                    ? "holds fewer values than its dimensions " + t.getDimsList() + " take" : e.getMessage());
        }
    }

    /** Bytes per element of an ONNX type that raw data can hold; 0 for strings and types this reader does not know. */
    static int elementBytes(int dataType) {
        return switch (dataType) {
            case Onnx.TensorProto.DataType.FLOAT_VALUE, Onnx.TensorProto.DataType.INT32_VALUE, Onnx.TensorProto.DataType.UINT32_VALUE -> 4;
            case Onnx.TensorProto.DataType.DOUBLE_VALUE, Onnx.TensorProto.DataType.INT64_VALUE, Onnx.TensorProto.DataType.UINT64_VALUE,
                 Onnx.TensorProto.DataType.COMPLEX64_VALUE -> 8;
            case Onnx.TensorProto.DataType.COMPLEX128_VALUE -> 16;
            case Onnx.TensorProto.DataType.FLOAT16_VALUE, Onnx.TensorProto.DataType.BFLOAT16_VALUE, Onnx.TensorProto.DataType.INT16_VALUE,
                 Onnx.TensorProto.DataType.UINT16_VALUE -> 2;
            case Onnx.TensorProto.DataType.INT8_VALUE, Onnx.TensorProto.DataType.UINT8_VALUE, Onnx.TensorProto.DataType.BOOL_VALUE -> 1;
            default -> 0;
        };
    }

    /** The file an external tensor's bytes are kept in, resolved and checked as {@link ExternalData#placement} does. */
    public Path externalFile(Onnx.TensorProto t) {
        try {
            return data.placement(t).file();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new SafetensorsException(location, t.getName(), e.getMessage());
        }
    }

    /** The byte length of an external tensor, from its entries (checked as {@link ExternalData#placement} checks them). */
    public long externalLength(Onnx.TensorProto t) {
        try {
            return data.placement(t).length();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new SafetensorsException(location, t.getName(), e.getMessage());
        }
    }

    /**
     * An external tensor kept in the graph instead: its bytes read into {@code raw_data}, its external entries
     * dropped. For the small tensors ONNX Runtime's shape inference reads (shapes, axes, scalars), which it cannot
     * take from a data file when the graph comes as bytes.
     */
    public Onnx.TensorProto inlined(Onnx.TensorProto t) {
        try {
            ByteBuffer b = mapped(t);
            return t.toBuilder().clearExternalData().clearDataLocation().setRawData(org.nd4j.shade.protobuf.ByteString.copyFrom(b)).build();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new SafetensorsException(location, t.getName(), e.getMessage());
        }
    }
}
