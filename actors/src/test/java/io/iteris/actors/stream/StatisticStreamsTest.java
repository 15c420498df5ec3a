package io.iteris.actors.stream;

import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Matrices;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKind;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Statistics cut into chunks and put back together, in any order, are what was sent, bit for bit. */
class StatisticStreamsTest {

    @Test
    void symmetricStatisticsTravelAsHalfTheBytesAndArriveExact() {
        Random rng = new Random(9);
        Nd4j.getRandom().setSeed(9);
        for (int dim : new int[]{1, 2, 7, 33, 130}) {
            INDArray x = Nd4j.randn(DataType.DOUBLE, 50, dim);
            INDArray h = Blas.gram(x);
            INDArray c = Blas.crossGram(x, Nd4j.randn(DataType.DOUBLE, 50, dim));
            for (StatisticKind kind : new StatisticKind[]{StatisticKind.STATISTIC_H, StatisticKind.STATISTIC_C}) {
                INDArray m = kind == StatisticKind.STATISTIC_C ? c : h;
                List<StatisticChunk> chunks = new ArrayList<>(StatisticStreams.chunks("job", StatisticStreams.key("l", 1, 0, 0, kind),
                        m, 50, 1 + rng.nextInt(4096)));
                long bytes = chunks.stream().mapToLong(ch -> ch.getData().size()).sum();
                boolean packed = kind != StatisticKind.STATISTIC_C;
                assertEquals(packed ? (long) dim * (dim + 1) / 2 * 8 : (long) dim * dim * 8, bytes, kind + " " + dim);
                Collections.shuffle(chunks, rng);
                chunks.add(chunks.get(0)); // a duplicate
                ChunkAssembler a = new ChunkAssembler(chunks.get(0));
                for (StatisticChunk ch : chunks) {
                    assertTrue(a.accept(ch));
                }
                assertTrue(a.complete());
                assertArrayEquals(Matrices.toArray(m), Matrices.toArray(a.matrix()), kind + " " + dim);
            }
        }
    }

    @Test
    void aChunkClaimingTheOtherPackingIsRefused() {
        INDArray h = Blas.gram(Nd4j.randn(DataType.DOUBLE, 20, 16));
        List<StatisticChunk> chunks = StatisticStreams.chunks("job", StatisticStreams.key("l", 1, 0, 0, StatisticKind.STATISTIC_H),
                h, 20, 256);
        ChunkAssembler a = new ChunkAssembler(chunks.get(0));
        assertFalse(a.accept(chunks.get(1).toBuilder().setUpperTriangle(false).build()));
    }
}
