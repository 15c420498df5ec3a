package io.iteris.actors.stream;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Matrices;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKey;
import io.iteris.protocol.StatisticKind;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Cuts a float64 statistic into chunks small enough for one remoting frame. The bytes are the matrix's
 * little-endian float64 values in C order, so what arrives is bit-for-bit what was computed. G and H are
 * exactly symmetric (computed so), so only their upper triangle is sent, row by row: half the bytes; the
 * receiver mirrors it back ({@link ChunkAssembler}).
 */
public final class StatisticStreams {
    private StatisticStreams() {
    }

    public static StatisticKey key(String layer, int iteration, int task, int shard, StatisticKind kind) {
        return StatisticKey.newBuilder().setLayer(layer).setIteration(iteration).setTask(task).setShard(shard).setKind(kind).build();
    }

    /** Whether a statistic of this kind is symmetric, so that its upper triangle says everything. */
    public static boolean symmetric(StatisticKind kind) {
        return kind == StatisticKind.STATISTIC_G || kind == StatisticKind.STATISTIC_H;
    }

    public static List<StatisticChunk> chunks(String jobId, StatisticKey key, INDArray matrix, long rows, int chunkBytes) {
        int dim = Matrices.rows(matrix);
        INDArray dense = Blas.dense(matrix);
        boolean packed = symmetric(key.getKind());
        ByteBuffer all = packed ? upperTriangle(littleEndianBytes(dense), dim) : littleEndianBytes(dense);
        int total = all.remaining();
        int per = Math.max(8, chunkBytes - chunkBytes % 8);
        int count = Math.max(1, (total + per - 1) / per);
        List<StatisticChunk> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * per;
            int len = Math.min(per, total - from);
            // the one copy: from the matrix's memory into the message; a packed triangle was copied once already, into
            // a heap buffer of its own that nothing else writes, so its chunks wrap that buffer without another copy
            ByteString data = packed ? UnsafeByteOperations.unsafeWrap(all.array(), all.arrayOffset() + from, len)
                    : ByteString.copyFrom(all.slice(from, len));
            CRC32C crc = new CRC32C();
            crc.update(data.asReadOnlyByteBuffer());
            out.add(StatisticChunk.newBuilder().setJobId(jobId).setKey(key).setChunkIndex(i).setChunkCount(count)
                    .setDim(dim).setRows(rows).setData(data).setCrc32C((int) crc.getValue())
                    .setOffset(from).setUpperTriangle(packed).build());
        }
        // `all` may be a view of dense's native memory, which must outlive every copy above
        Reference.reachabilityFence(dense);
        return out;
    }

    /** The upper triangle of a dim×dim matrix's bytes, row by row (row i from column i): dim·(dim+1)/2 values. */
    static ByteBuffer upperTriangle(ByteBuffer full, int dim) {
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(packedBytes(dim))).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < dim; i++) {
            out.put(full.slice((i * dim + i) * Double.BYTES, (dim - i) * Double.BYTES));
        }
        return out.flip();
    }

    /** Bytes of a packed upper triangle. */
    public static long packedBytes(int dim) {
        return (long) dim * (dim + 1) / 2 * Double.BYTES;
    }

    /**
     * A dense C-ordered float64 matrix's values as little-endian bytes: a view of its own memory on a
     * little-endian machine (no copy; the caller keeps {@code m} reachable while it reads), else a fresh buffer.
     */
    static ByteBuffer littleEndianBytes(INDArray m) {
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            ByteBuffer view = m.data().asNio();
            if (view != null && view.capacity() >= m.length() * Double.BYTES) {
                return view.duplicate().position(0).limit((int) (m.length() * Double.BYTES)).slice().order(ByteOrder.LITTLE_ENDIAN);
            }
        }
        double[] values = Matrices.toArray(m);
        ByteBuffer copy = ByteBuffer.allocate(values.length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        copy.asDoubleBuffer().put(values);
        return copy;
    }

    /** Whether a chunk's data matches its checksum. */
    public static boolean intact(StatisticChunk c) {
        CRC32C crc = new CRC32C();
        crc.update(c.getData().asReadOnlyByteBuffer());
        return (int) crc.getValue() == c.getCrc32C();
    }
}
