package io.iteris.core.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryFloatTypeWithMetadata() {
        double[] v = {0, 1, -2.5, 3.1415926535, 1e-3, -65504, 6.1e-5, 1e-7};
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().metadata("format", "pt")
                .add("f64", DType.F64, new long[]{2, 4}, v)
                .add("f32", DType.F32, new long[]{8}, v)
                .add("f16", DType.F16, new long[]{4, 2}, v)
                .add("bf16", DType.BF16, new long[]{8}, v)
                .write(f);
        SafetensorsFile s = SafetensorsFile.open(f);
        assertEquals(Map.of("format", "pt"), s.metadata());
        assertEquals(List.of("f64", "f32", "f16", "bf16"), List.copyOf(s.names()));
        assertArrayEquals(v, s.readDoubles("f64"));
        double[] f32 = s.readDoubles("f32");
        double[] f16 = s.readDoubles("f16");
        double[] bf16 = s.readDoubles("bf16");
        for (int i = 0; i < v.length; i++) {
            assertEquals((float) v[i], f32[i]);
            assertEquals(v[i], f16[i], Math.max(Math.abs(v[i]) * 1e-3, 6e-8), "f16 " + v[i]);
            assertEquals(v[i], bf16[i], Math.abs(v[i]) * 8e-3, "bf16 " + v[i]);
        }
        assertArrayEquals(new long[]{4, 2}, s.info("f16").shape());
    }

    @Test
    void halfFloatsConvertExactlyWhereRepresentable() {
        for (float x : new float[]{0f, -0f, 1f, -2f, 0.5f, 65504f, 6.103515625e-5f, 5.9604645e-8f}) {
            assertEquals(x, HalfFloats.halfToFloat(HalfFloats.floatToHalf(x)), "half " + x);
        }
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.halfToFloat(HalfFloats.floatToHalf(1e6f)));
        assertTrue(Float.isNaN(HalfFloats.halfToFloat(HalfFloats.floatToHalf(Float.NaN))));
        assertEquals(1.5f, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(1.5f)));
        assertEquals((short) 0x3c00, HalfFloats.floatToHalf(1f));
    }

    @Test
    void aWriteThatFailsHalfWayLeavesNeitherAFileNorATemporaryAndKeepsTheOldContent() throws IOException {
        Path f = dir.resolve("out.safetensors");
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, () -> io.iteris.core.AtomicFiles.write(f, out -> {
            out.write(new byte[4096]);
            throw new IOException("disk full");
        }));
        assertTrue(e.getMessage().contains("out.safetensors") && e.getMessage().contains("disk full"), e.getMessage());
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count(), "no file under the real name, no temporary left");
        }
        new SafetensorsWriter().add("x", DType.F32, new long[]{2}, new double[]{1, 2}).write(f);
        assertThrows(java.io.UncheckedIOException.class, () -> io.iteris.core.AtomicFiles.write(f, out -> {
            out.write(1);
            throw new IOException("disk full");
        }));
        assertArrayEquals(new double[]{1, 2}, SafetensorsFile.open(f).readDoubles("x"), "the earlier content stays whole");
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void aHeaderNamingATensorTwiceIsRefused() throws IOException {
        Path f = dir.resolve("dup.safetensors");
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + h.length + 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).putFloat(1f);
        Files.write(f, b.array());
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("dup.safetensors") && e.getMessage().contains("Duplicate field 'x'"), e.getMessage());
    }

    @Test
    void rejectsTruncatedFile() throws IOException {
        Path f = dir.resolve("short.safetensors");
        Files.write(f, new byte[]{1, 2, 3});
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("short.safetensors") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void rejectsHeaderLengthPastEndOfFile() throws IOException {
        Path f = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        byte[] bytes = Files.readAllBytes(f);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1_000_000);
        Files.write(f, bytes);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("header length 1000000 is out of bounds"), e.getMessage());
    }

    @Test
    void rejectsTruncatedDataSection() throws IOException {
        Path f = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("tensor 'w'") && e.getMessage().contains("outside the data section"), e.getMessage());
    }

    @Test
    void rejectsCorruptedJson() throws IOException {
        Path f = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],", 4);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("bad JSON header"), e.getMessage());
    }

    @Test
    void rejectsByteCountNotMatchingShape() throws IOException {
        Path f = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("holds 12 bytes but F32[2, 2] needs 16"), e.getMessage());
    }

    @Test
    void rejectsOverlappingTensors() throws IOException {
        Path f = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("overlaps"), e.getMessage());
    }

    @Test
    void rejectsUnknownDtype() throws IOException {
        Path f = raw("{\"w\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("unknown dtype 'F128'"), e.getMessage());
    }

    @Test
    void refusesToConvertIntegerTensors() throws IOException {
        Path f = raw("{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
        SafetensorsFile s = SafetensorsFile.open(f);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> s.readDoubles("ids"));
        assertTrue(e.getMessage().contains("not a floating-point type"), e.getMessage());
    }

    @Test
    void readsTensorsLyingPastTwoGibibytes() throws IOException {
        // A sparse file: the tensor's bytes start 2.5 GiB into the data section, where one int offset cannot reach.
        long offset = 5L << 29;
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + offset + "],\"data_offsets\":[0," + offset + "]},"
                + "\"far\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + offset + "," + (offset + 8) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve("big.safetensors");
        try (RandomAccessFile file = new RandomAccessFile(f.toFile(), "rw")) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length);
            file.write(len.array());
            file.write(h);
            long dataStart = 8 + h.length;
            file.seek(dataStart + offset);
            ByteBuffer v = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 1.25f).putFloat(4, -3f);
            file.write(v.array());
        }
        SafetensorsFile s = SafetensorsFile.open(f);
        assertTrue(Files.size(f) > (2L << 30));
        assertArrayEquals(new double[]{1.25, -3}, s.readDoubles("far"));
    }

    @Test
    void readsShardedCheckpointsThroughTheirIndex() throws IOException {
        new SafetensorsWriter().add("a.weight", DType.F32, new long[]{2}, new double[]{1, 2}).write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().add("b.weight", DType.F32, new long[]{1}, new double[]{3}).write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\":{\"total_size\":12},\"weight_map\":"
                + "{\"a.weight\":\"model-00001-of-00002.safetensors\",\"b.weight\":\"model-00002-of-00002.safetensors\"}}");
        TensorSource s = TensorSource.open(dir);
        assertEquals(2, s.names().size());
        assertArrayEquals(new double[]{3}, s.readDoubles("b.weight"));
        assertArrayEquals(new double[]{1, 2}, s.readDoubles("a.weight"));
    }

    @Test
    void shardedIndexNamingAMissingTensorIsAnError() throws IOException {
        new SafetensorsWriter().add("a.weight", DType.F32, new long[]{1}, new double[]{1}).write(dir.resolve("s1.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"a.weight\":\"s1.safetensors\",\"ghost.weight\":\"s1.safetensors\"}}");
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> TensorSource.open(dir));
        assertTrue(e.getMessage().contains("ghost.weight"), e.getMessage());
    }

    private Path raw(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = dir.resolve("raw.safetensors");
        Files.write(f, b.array());
        return f;
    }
}
