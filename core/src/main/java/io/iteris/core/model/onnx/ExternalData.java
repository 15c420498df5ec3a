package io.iteris.core.model.onnx;

import onnx.Onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The external data of one model's tensors ({@code external_data}: location, offset, length), as ONNX Runtime reads
 * it for a model loaded from its path: files in the model's directory or a folder below it. Every entry is checked
 * before a byte is mapped. The messages leave the tensor's name to the caller, which names the model and the tensor.
 */
final class ExternalData {
    /** Where an external tensor's bytes lie: a file inside the model's directory ({@code location} as written), and a range of it. */
    record Placement(Path file, String location, long offset, long length) {
    }

    private final Path dir;

    ExternalData(Path modelDirectory) {
        this.dir = modelDirectory.toAbsolutePath().normalize();
    }

    /**
     * Where an external tensor's bytes lie, checked on its entries alone: a location relative to the model's directory
     * that stays inside it (a sub-folder is fine; {@code ../} and absolute paths are refused), a non-negative offset,
     * and a length equal to what its dimensions take. The check is lexical: a symbolic link inside the folder may point
     * elsewhere, as the HuggingFace cache's links into its blob store do.
     */
    Placement placement(Onnx.TensorProto t) {
        Map<String, String> e = new LinkedHashMap<>();
        t.getExternalDataList().forEach(kv -> e.put(kv.getKey(), kv.getValue()));
        String where = e.get("location");
        if (where == null || where.isEmpty()) {
            throw new IllegalArgumentException("is external but names no location");
        }
        Path file;
        try {
            file = dir.resolve(where).normalize();
        } catch (InvalidPathException ex) {
            throw new IllegalArgumentException("has external data location '" + where + "', which is no path");
        }
        if (Path.of(where).isAbsolute() || where.startsWith("/") || where.startsWith("\\") || !file.startsWith(dir)) {
            throw new IllegalArgumentException("points outside the model's directory (location " + where
                    + "); external data must lie in the model's directory or a folder below it");
        }
        long offset = parse(e.getOrDefault("offset", "0"), "offset", where);
        int size = OnnxModelFile.elementBytes(t.getDataType());
        long want = size == 0 ? -1 : Math.multiplyExact(OnnxModelFile.numel(t), size);
        long length = e.containsKey("length") ? parse(e.get("length"), "length", where) : want;
        if (length < 0) {
            throw new IllegalArgumentException("is external (in " + where + "), of ONNX type " + t.getDataType() + ", and gives no length");
        }
        if (want >= 0 && length != want) {
            throw new IllegalArgumentException(t.getDimsList() + " should take " + want + " bytes but its external data length (in "
                    + where + ") is " + length);
        }
        return new Placement(file, where, offset, length);
    }

    /** Checks a tensor's entries against its file (present, and long enough) without mapping it. */
    void check(Onnx.TensorProto t) {
        Placement p = placement(t);
        if (!Files.isRegularFile(p.file())) {
            throw missing(p);
        }
        try {
            within(p, Files.size(p.file()));
        } catch (IOException ex) {
            throw new IllegalArgumentException("cannot read " + p.file() + ": " + ex.getMessage());
        }
    }

    /** A tensor's bytes, memory-mapped from its file after checking location, offset and length. */
    ByteBuffer mapped(Onnx.TensorProto t) {
        Placement p = placement(t);
        try (FileChannel ch = FileChannel.open(p.file(), StandardOpenOption.READ)) {
            within(p, ch.size());
            return ch.map(FileChannel.MapMode.READ_ONLY, p.offset(), p.length());
        } catch (NoSuchFileException ex) {
            throw missing(p);
        } catch (IOException ex) {
            throw new IllegalArgumentException("cannot read " + p.file() + ": " + ex.getMessage());
        }
    }

    private static IllegalArgumentException missing(Placement p) {
        return new IllegalArgumentException("is kept in " + p.location() + " (" + p.file() + "), which does not exist or is not a file");
    }

    /** Refuses a range that does not lie within a file of {@code size} bytes (without overflowing on huge offsets). */
    private static void within(Placement p, long size) {
        if (p.offset() > size || p.length() > size - p.offset()) {
            throw new IllegalArgumentException("lies at bytes " + p.offset() + ".." + (p.offset() + p.length()) + " of " + p.location()
                    + ", which has only " + size);
        }
    }

    private static long parse(String v, String what, String where) {
        try {
            long x = Long.parseLong(v);
            if (x < 0) {
                throw new NumberFormatException();
            }
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("has external data " + what + " '" + v + "' (in " + where + ")");
        }
    }
}
