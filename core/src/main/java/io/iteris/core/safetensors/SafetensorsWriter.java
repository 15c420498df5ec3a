package io.iteris.core.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iteris.core.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects tensors and writes one safetensors file atomically: to a temporary name in the target
 * directory, then renamed, so a crash never leaves a half-written file under the real name.
 */
public final class SafetensorsWriter {
    private record Entry(String name, DType dtype, long[] shape, double[] values) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor; values are in C order and converted to {@code dtype} on write. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, double[] values) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + java.util.Arrays.toString(shape)
                    + " needs " + n + " values, got " + values.length);
        }
        if (!dtype.isConvertible() && dtype != DType.I64 && dtype != DType.I32) {
            throw new IllegalArgumentException("tensor '" + name + "': cannot write dtype " + dtype);
        }
        for (Entry e : entries) {
            if (e.name.equals(name)) {
                throw new IllegalArgumentException("tensor '" + name + "' added twice");
            }
        }
        entries.add(new Entry(name, dtype, shape.clone(), values));
        return this;
    }

    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        return add(name, dtype, shape, d);
    }

    public void write(Path target) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode md = header.putObject("__metadata__");
            metadata.forEach(md::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            long len = (long) e.values.length * e.dtype.bytes();
            ObjectNode t = header.putObject(e.name);
            t.put("dtype", e.dtype.name());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] headerBytes;
        try {
            headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        // Pad with spaces to 8-byte alignment, as the reference implementation does.
        int pad = (8 - headerBytes.length % 8) % 8;
        byte[] padded = new byte[headerBytes.length + pad];
        System.arraycopy(headerBytes, 0, padded, 0, headerBytes.length);
        java.util.Arrays.fill(padded, headerBytes.length, padded.length, (byte) ' ');
        AtomicFiles.write(target, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded.length);
            out.write(len.array());
            out.write(padded);
            for (Entry e : entries) {
                writeValues(out, e);
            }
        });
    }

    private static void writeValues(OutputStream out, Entry e) throws IOException {
        final int chunk = 1 << 16;
        ByteBuffer buf = ByteBuffer.allocate(chunk * 8).order(ByteOrder.LITTLE_ENDIAN);
        double[] v = e.values;
        for (int start = 0; start < v.length; start += chunk) {
            buf.clear();
            int end = Math.min(v.length, start + chunk);
            for (int i = start; i < end; i++) {
                switch (e.dtype) {
                    case F64 -> buf.putDouble(v[i]);
                    case F32 -> buf.putFloat((float) v[i]);
                    case F16 -> buf.putShort(HalfFloats.floatToHalf((float) v[i]));
                    case BF16 -> buf.putShort(HalfFloats.floatToBf16((float) v[i]));
                    case I64 -> buf.putLong((long) v[i]);
                    case I32 -> buf.putInt(Math.toIntExact((long) v[i]));
                    default -> throw new IllegalStateException();
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
    }
}
