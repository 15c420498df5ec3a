package io.iteris.core.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A strict safetensors reader. The header is parsed and validated on open; tensor data is memory-mapped
 * per tensor on demand, so files larger than 2 GiB work as long as each tensor is under 2 GiB.
 */
public final class SafetensorsFile implements TensorSource {
    /** The format's own cap on header size; a larger length means a corrupted or foreign file. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    /** Duplicate keys are refused: which of two entries for one tensor is meant cannot be known. */
    private static final ObjectMapper JSON = new ObjectMapper().enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsException(path, "truncated: " + size + " bytes, fewer than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
                throw new SafetensorsException(path, "header length " + headerLen
                        + " is out of bounds (file is " + size + " bytes); truncated or not a safetensors file");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            long dataSize = size - 8 - headerLen;
            return parse(path, json, 8 + headerLen, dataSize);
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(path, "no such file");
        } catch (IOException e) {
            throw new SafetensorsException(path, "cannot read: " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += n;
        }
    }

    private static SafetensorsFile parse(Path path, String json, long dataStart, long dataSize) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(path, "bad JSON header: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(path, "bad JSON header: not an object");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                readMetadata(path, e.getValue(), metadata);
            } else {
                tensors.put(e.getKey(), readEntry(path, e.getKey(), e.getValue(), dataSize));
            }
        }
        checkNoOverlap(path, tensors.values());
        return new SafetensorsFile(path, dataStart, Collections.unmodifiableMap(tensors),
                Collections.unmodifiableMap(metadata));
    }

    private static void readMetadata(Path path, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw new SafetensorsException(path, "__metadata__ must be an object of strings");
        }
        node.fields().forEachRemaining(m -> {
            if (!m.getValue().isTextual()) {
                throw new SafetensorsException(path, "__metadata__ value of '" + m.getKey() + "' is not a string");
            }
            out.put(m.getKey(), m.getValue().asText());
        });
    }

    private static TensorInfo readEntry(Path path, String name, JsonNode node, long dataSize) {
        if (!node.isObject()) {
            throw new SafetensorsException(path, name, "header entry is not an object");
        }
        JsonNode dt = node.get("dtype");
        JsonNode sh = node.get("shape");
        JsonNode off = node.get("data_offsets");
        if (dt == null || !dt.isTextual() || sh == null || !sh.isArray() || off == null || !off.isArray() || off.size() != 2) {
            throw new SafetensorsException(path, name, "header entry needs dtype, shape and data_offsets [begin, end]");
        }
        DType dtype = DType.parse(dt.asText());
        if (dtype == null) {
            throw new SafetensorsException(path, name, "unknown dtype '" + dt.asText() + "'");
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new SafetensorsException(path, name, "shape " + sh + " has a non-integer or negative dimension");
            }
            shape[i] = d.asLong();
        }
        if (!off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()) {
            throw new SafetensorsException(path, name, "data_offsets " + off + " are not integers");
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataSize) {
            throw new SafetensorsException(path, name, "data_offsets [" + begin + ", " + end
                    + "] lie outside the data section of " + dataSize + " bytes");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(info.numel(), (long) dtype.bytes());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(path, name, "shape " + info.shapeString() + " overflows");
        }
        if (expected != end - begin) {
            throw new SafetensorsException(path, name, "holds " + (end - begin) + " bytes but " + dtype
                    + info.shapeString() + " needs " + expected);
        }
        return info;
    }

    private static void checkNoOverlap(Path path, java.util.Collection<TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (prev != null && t.begin() < prev.end() && t.byteLength() > 0) {
                throw new SafetensorsException(path, t.name(), "data overlaps tensor '" + prev.name() + "'");
            }
            if (t.byteLength() > 0) {
                prev = t;
            }
        }
    }

    @Override
    public Path location() {
        return path;
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new SafetensorsException(path, name, "not found");
        }
        return t;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor's raw little-endian bytes, memory-mapped. */
    public ByteBuffer raw(String name) {
        TensorInfo t = info(name);
        if (t.byteLength() > Integer.MAX_VALUE) {
            throw new SafetensorsException(path, name, "is larger than 2 GiB, which one buffer cannot hold");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (dataStart + t.end() > ch.size()) {
                throw new SafetensorsException(path, name, "data ends past the end of the file (file changed?)");
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.byteLength())
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new SafetensorsException(path, "cannot map tensor '" + name + "': " + e.getMessage(), e);
        }
    }

    @Override
    public double[] readDoubles(String name) {
        TensorInfo t = convertible(name);
        ByteBuffer b = raw(name);
        double[] out = new double[Math.toIntExact(t.numel())];
        switch (t.dtype()) {
            case F64 -> b.asDoubleBuffer().get(out);
            case F32 -> {
                var fb = b.asFloatBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = fb.get(i);
                }
            }
            case F16 -> {
                var sb = b.asShortBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.halfToFloat(sb.get(i));
                }
            }
            case BF16 -> {
                var sb = b.asShortBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.bf16ToFloat(sb.get(i));
                }
            }
            default -> throw new IllegalStateException();
        }
        return out;
    }

    @Override
    public float[] readFloats(String name) {
        TensorInfo t = convertible(name);
        if (t.dtype() == DType.F32) {
            float[] out = new float[Math.toIntExact(t.numel())];
            raw(name).asFloatBuffer().get(out);
            return out;
        }
        double[] d = readDoubles(name);
        float[] out = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = (float) d[i];
        }
        return out;
    }

    @Override
    public long[] readIntegers(String name) {
        TensorInfo t = info(name);
        if (t.numel() > Integer.MAX_VALUE - 8) {
            throw new SafetensorsException(path, name, "has " + t.numel() + " elements, more than one Java array holds");
        }
        ByteBuffer b = raw(name);
        long[] out = new long[Math.toIntExact(t.numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (t.dtype()) {
                case I64 -> b.getLong(i * 8);
                case I32 -> b.getInt(i * 4);
                case I16 -> b.getShort(i * 2);
                case I8 -> b.get(i);
                case U8 -> b.get(i) & 0xFF;
                default -> throw new SafetensorsException(path, name, "dtype " + t.dtype() + " is not an integer type (token ids are I64 or I32)");
            };
        }
        return out;
    }

    private TensorInfo convertible(String name) {
        TensorInfo t = info(name);
        if (!t.dtype().isConvertible()) {
            throw new SafetensorsException(path, name, "dtype " + t.dtype() + " is not a floating-point type");
        }
        if (t.numel() > Integer.MAX_VALUE - 8) {
            throw new SafetensorsException(path, name, "has " + t.numel() + " elements, more than one Java array holds");
        }
        return t;
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
