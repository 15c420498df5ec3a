package io.iteris.actors.stream;

import io.iteris.core.linalg.Matrices;
import io.iteris.protocol.StatisticChunk;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;

/** Puts one statistic back together from its chunks, in any order, each chunk counted once. */
public final class ChunkAssembler {
    private final int dim;
    private final long rows;
    private final int count;
    private final byte[] bytes;
    private final BitSet received = new BitSet();

    public ChunkAssembler(StatisticChunk first) {
        this.dim = first.getDim();
        this.rows = first.getRows();
        this.count = first.getChunkCount();
        this.bytes = new byte[Math.multiplyExact(Math.multiplyExact(dim, dim), 8)];
    }

    /**
     * Takes a chunk. Returns false when it does not fit this statistic (shape, count or range disagree) or
     * is corrupted; a duplicate is accepted and ignored.
     */
    public boolean accept(StatisticChunk c) {
        if (c.getDim() != dim || c.getChunkCount() != count || c.getChunkIndex() < 0 || c.getChunkIndex() >= count
                || c.getOffset() < 0 || c.getOffset() + c.getData().size() > bytes.length || !StatisticStreams.intact(c)) {
            return false;
        }
        if (!received.get(c.getChunkIndex())) {
            c.getData().copyTo(bytes, (int) c.getOffset());
            received.set(c.getChunkIndex());
        }
        return true;
    }

    public boolean complete() {
        return received.cardinality() == count;
    }

    public long rows() {
        return rows;
    }

    /** The statistic, once complete. */
    public INDArray matrix() {
        if (!complete()) {
            throw new IllegalStateException("statistic incomplete: " + received.cardinality() + " of " + count + " chunks");
        }
        double[] v = new double[dim * dim];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(v);
        return Matrices.of(v, dim, dim);
    }
}
