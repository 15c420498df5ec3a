package io.iteris.actors.stream;

import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Matrices;
import io.iteris.protocol.StatisticChunk;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;

/**
 * Puts one statistic back together from its chunks, in any order, each chunk counted once. A full matrix's
 * chunks land in the result's own memory (one copy per chunk on a little-endian machine); a packed upper
 * triangle (G, H) lands in a buffer of half the size and is unpacked and mirrored once complete.
 */
public final class ChunkAssembler {
    private final int dim;
    private final long rows;
    private final int count;
    private final boolean packed;
    private final long size;
    private final BitSet received = new BitSet();
    /** The full matrix's memory when chunks land in it directly, else null. */
    private final INDArray target;
    private final ByteBuffer into;

    public ChunkAssembler(StatisticChunk first) {
        this.dim = first.getDim();
        this.rows = first.getRows();
        this.count = first.getChunkCount();
        this.packed = first.getUpperTriangle();
        this.size = packed ? StatisticStreams.packedBytes(dim) : Math.multiplyExact(Math.multiplyExact((long) dim, dim), 8L);
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a " + dim + "x" + dim + " statistic does not fit one buffer");
        }
        ByteBuffer nio = null;
        if (!packed) {
            INDArray t = Nd4j.create(DataType.DOUBLE, dim, dim);
            nio = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? t.data().asNio() : null;
            this.target = nio != null && nio.capacity() >= size ? t : null;
        } else {
            this.target = null;
        }
        this.into = target != null ? nio : ByteBuffer.allocate((int) size);
    }

    /**
     * Takes a chunk. Returns false when it does not fit this statistic (shape, count, packing or range disagree)
     * or is corrupted; a duplicate is accepted and ignored.
     */
    public boolean accept(StatisticChunk c) {
        if (c.getDim() != dim || c.getChunkCount() != count || c.getUpperTriangle() != packed || c.getChunkIndex() < 0
                || c.getChunkIndex() >= count || c.getOffset() < 0 || c.getOffset() + c.getData().size() > size
                || !StatisticStreams.intact(c)) {
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
        if (target != null) {
            return target;
        }
        ByteBuffer bytes = into.duplicate().position(0).order(ByteOrder.LITTLE_ENDIAN);
        if (!packed) {
            double[] v = new double[dim * dim];
            bytes.asDoubleBuffer().get(v);
            return Matrices.of(v, dim, dim);
        }
        double[] v = new double[dim * dim];
        java.nio.DoubleBuffer packedValues = bytes.asDoubleBuffer();
        for (int i = 0; i < dim; i++) {
            packedValues.get(v, i * dim + i, dim - i);
        }
        INDArray m = Matrices.of(v, dim, dim);
        Blas.mirrorUpper(m);
        return m;
    }
}
