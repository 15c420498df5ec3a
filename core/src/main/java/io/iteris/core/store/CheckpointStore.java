package io.iteris.core.store;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsFile;
import io.iteris.core.safetensors.SafetensorsWriter;
import io.iteris.core.safetensors.TensorInfo;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Merged layer deltas, content-addressed: a matrix is stored once under the SHA-256 of its shape and
 * float64 bytes, written atomically and durably, so any node may write the same result concurrently and a
 * reader never sees half a file. An entry already there is checked against its name before it is trusted,
 * and rewritten when it does not match (torn by a crash without fsync, or damaged since). A local
 * directory for one node; a shared directory for a cluster.
 */
public final class CheckpointStore {
    private static final String KEY = "delta";
    private final Path root;

    public CheckpointStore(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    /** Stores the matrix (if not already there) and returns its content hash. */
    public String put(INDArray matrix) {
        double[] values = Matrices.toArray(matrix);
        long[] shape = matrix.shape();
        String hash = hash(shape, values);
        Path file = path(hash);
        if (!Files.exists(file) || !intact(file, hash)) {
            new SafetensorsWriter().metadata("sha256", hash).add(KEY, DType.F64, shape, values).write(file);
        }
        return hash;
    }

    /** Whether the file holds the matrix its name promises. */
    private static boolean intact(Path file, String hash) {
        try {
            SafetensorsFile f = SafetensorsFile.open(file);
            return hash(f.info(KEY).shape(), f.readDoubles(KEY)).equals(hash);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The matrix stored under {@code hash}, checked against it. */
    public INDArray get(String hash) {
        Path file = path(hash);
        if (!Files.exists(file)) {
            throw new IllegalStateException("checkpoint store " + root + " has no entry " + hash
                    + " (is the store directory shared by every node?)");
        }
        SafetensorsFile f = SafetensorsFile.open(file);
        TensorInfo t = f.info(KEY);
        double[] values = f.readDoubles(KEY);
        if (!hash(t.shape(), values).equals(hash)) {
            throw new IllegalStateException(file + ": content does not match its hash (corrupted checkpoint)");
        }
        return Matrices.of(values, t.shape()[0], t.shape()[1]);
    }

    public boolean contains(String hash) {
        return Files.exists(path(hash));
    }

    private Path path(String hash) {
        if (!hash.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a content hash: '" + hash + "'");
        }
        return root.resolve("deltas").resolve(hash.substring(0, 2)).resolve(hash + ".safetensors");
    }

    public static String hash(long[] shape, double[] values) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer b = ByteBuffer.allocate(8 * Math.max(shape.length, 1 << 13)).order(ByteOrder.LITTLE_ENDIAN);
            for (long d : shape) {
                b.putLong(d);
            }
            md.update(b.array(), 0, b.position());
            for (int i = 0; i < values.length; ) {
                b.clear();
                while (b.remaining() >= 8 && i < values.length) {
                    b.putDouble(values[i++]);
                }
                md.update(b.array(), 0, b.position());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
