package io.iteris.actors.stream;

import io.iteris.core.linalg.Matrices;
import io.iteris.protocol.StatisticChunk;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;

/** Puts one statistic back together from its chunks, in any order, each chunk counted once. */
public final class ChunkAssembler {
    private final int dim;
    private final long rows;
    private final int count;
    private final long size;
    private final BitSet received = new BitSet();
    /** Where the chunks land: the result's own memory when the machine is little-endian (one copy per chunk). */
    private final INDArray target;
    private final ByteBuffer into;

    public ChunkAssembler(StatisticChunk first) {
        this.dim = first.getDim();
        this.rows = first.getRows();
        this.count = first.getChunkCount();
        this.size = Math.multiplyExact(Math.multiplyExact((long) dim, dim), 8L);
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a " + dim + "x" + dim + " statistic does not fit one buffer");
        }
        this.target = Nd4j.create(DataType.DOUBLE, dim, dim);
        ByteBuffer nio = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? target.data().asNio() : null;
        this.into = nio != null && nio.capacity() >= size ? nio : ByteBuffer.allocate((int) size);
    }

    /**
     * Takes a chunk. Returns false when it does not fit this statistic (shape, count or range disagree) or
     * is corrupted; a duplicate is accepted and ignored.
     */
    public boolean accept(StatisticChunk c) {
        if (c.getDim() != dim || c.getChunkCount() != count || c.getChunkIndex() < 0 || c.getChunkIndex() >= count
                || c.getOffset() < 0 || c.getOffset() + c.getData().size() > size || !StatisticStreams.intact(c)) {
            return false;
        }
        if (!received.get(c.getChunkIndex())) {
            ByteBuffer at = into.duplicate();
            at.position((int) c.getOffset());
            c.getData().copyTo(at);
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
        if (into.isDirect()) {
            return target;
        }
        double[] v = new double[dim * dim];
        into.duplicate().position(0).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(v);
        return Matrices.of(v, dim, dim);
    }
}
