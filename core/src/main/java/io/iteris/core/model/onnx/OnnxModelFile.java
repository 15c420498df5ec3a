package io.iteris.core.model.onnx;

import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.HalfFloats;
import io.iteris.core.safetensors.SafetensorsException;
import onnx.Onnx;
import org.nd4j.shade.protobuf.InvalidProtocolBufferException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An ONNX model on disk: the graph (the {@code .onnx} file, parsed) and its initializers' values, kept in the file or,
 * as every export over 2 GB does, in external data files beside it ({@code external_data}: location, offset, length).
 * External values are memory-mapped one tensor at a time when read, never copied onto the heap as a whole file;
 * their location must stay inside the model's directory. Float32, float16 and bfloat16 initializers convert to float.
 */
public final class OnnxModelFile {
    /** Protobuf messages cannot exceed 2 GiB: a larger model keeps its weights as external data. */
    static final long MAX_PROTO_BYTES = Integer.MAX_VALUE;

    private final Path location;
    private final byte[] bytes;
    private final Onnx.ModelProto model;
    private final Map<String, Onnx.TensorProto> initializers = new LinkedHashMap<>();

    private OnnxModelFile(Path location, byte[] bytes, Onnx.ModelProto model) {
        this.location = location;
        this.bytes = bytes;
        this.model = model;
        model.getGraph().getInitializerList().forEach(t -> initializers.put(t.getName(), t));
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

    /** A model whose bytes are at hand; external data, if any, is looked for beside {@code location}. */
    public static OnnxModelFile of(Path location, byte[] bytes) {
        try {
            return new OnnxModelFile(location, bytes, Onnx.ModelProto.parseFrom(bytes));
        } catch (InvalidProtocolBufferException e) {
            throw new SafetensorsException(location, "is not an ONNX model: " + e.getMessage(), e);
        }
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

    static boolean external(Onnx.TensorProto t) {
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
            ByteBuffer b = external(t) ? mapped(t, n * type.bytes()) : inFile(t, n, type);
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

    /** An external tensor's bytes, memory-mapped from its file after checking location, offset and length. */
    ByteBuffer mapped(Onnx.TensorProto t, long want) {
        Map<String, String> e = new LinkedHashMap<>();
        t.getExternalDataList().forEach(kv -> e.put(kv.getKey(), kv.getValue()));
        String where = e.get("location");
        if (where == null || where.isEmpty()) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "' is external but names no location");
        }
        Path dir = directory().normalize();
        Path file = dir.resolve(where).normalize();
        if (Path.of(where).isAbsolute() || !file.startsWith(dir)) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "' points outside the model's directory (location "
                    + where + "); external data must lie beside the model");
        }
        long offset = parse(e.getOrDefault("offset", "0"), "offset", t);
        long length = e.containsKey("length") ? parse(e.get("length"), "length", t) : want;
        if (length != want) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "' " + t.getDimsList() + " should take " + want
                    + " bytes but its external data length is " + length);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (offset + length > ch.size()) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' lies at bytes " + offset + ".." + (offset + length)
                        + " of " + file.getFileName() + ", which has only " + ch.size());
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, length);
        } catch (java.nio.file.NoSuchFileException ex) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "' is kept in " + file + ", which does not exist");
        } catch (IOException ex) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "': cannot read " + file + ": " + ex.getMessage());
        }
    }

    private static long parse(String v, String what, Onnx.TensorProto t) {
        try {
            long x = Long.parseLong(v);
            if (x < 0) {
                throw new NumberFormatException();
            }
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("initializer '" + t.getName() + "' has external data " + what + " '" + v + "'");
        }
    }
}
