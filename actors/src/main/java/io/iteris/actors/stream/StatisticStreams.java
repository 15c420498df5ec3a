package io.iteris.actors.stream;

import com.google.protobuf.ByteString;
import io.iteris.core.linalg.Matrices;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKey;
import io.iteris.protocol.StatisticKind;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Cuts a float64 statistic into chunks small enough for one remoting frame. The bytes are the matrix's
 * little-endian float64 values in C order, so what arrives is bit-for-bit what was computed.
 */
public final class StatisticStreams {
    private StatisticStreams() {
    }

    public static StatisticKey key(String layer, int iteration, int task, int shard, StatisticKind kind) {
        return StatisticKey.newBuilder().setLayer(layer).setIteration(iteration).setTask(task).setShard(shard).setKind(kind).build();
    }

    public static List<StatisticChunk> chunks(String jobId, StatisticKey key, INDArray matrix, long rows, int chunkBytes, String replyTo) {
        int dim = Matrices.rows(matrix);
        double[] values = Matrices.toArray(matrix);
        ByteBuffer all = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        all.asDoubleBuffer().put(values);
        int total = all.capacity();
        int per = Math.max(8, chunkBytes - chunkBytes % 8);
        int count = Math.max(1, (total + per - 1) / per);
        List<StatisticChunk> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * per;
            int len = Math.min(per, total - from);
            ByteString data = ByteString.copyFrom(all.array(), from, len);
            CRC32C crc = new CRC32C();
            crc.update(all.array(), from, len);
            out.add(StatisticChunk.newBuilder().setJobId(jobId).setKey(key).setChunkIndex(i).setChunkCount(count)
                    .setDim(dim).setRows(rows).setData(data).setCrc32C((int) crc.getValue()).setReplyTo(replyTo)
                    .setOffset(from).build());
        }
        return out;
    }

    /** Whether a chunk's data matches its checksum. */
    public static boolean intact(StatisticChunk c) {
        CRC32C crc = new CRC32C();
        crc.update(c.getData().asReadOnlyByteBuffer());
        return (int) crc.getValue() == c.getCrc32C();
    }
}
