package io.iteris.actors.solver;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.stats.GramStatistics;
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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Running sums over shards arriving in any order, repeated, are bit-identical to the in-order sum. */
class ShardSumTest {

    @Test
    void anyArrivalOrderGivesTheInOrderSumBitForBit() {
        Random rng = new Random(5);
        Nd4j.getRandom().setSeed(5);
        for (int trial = 0; trial < 20; trial++) {
            int shards = 1 + rng.nextInt(7);
            List<INDArray> x = new ArrayList<>();
            List<GramStatistics> stats = new ArrayList<>();
            for (int s = 0; s < shards; s++) {
                INDArray f = Nd4j.randn(DataType.DOUBLE, 1 + rng.nextInt(9), 6).muli(Math.pow(10, rng.nextInt(7) - 3));
                x.add(f);
                stats.add(GramStatistics.ofFeatures(f));
            }
            GramStatistics expected = GramStatistics.sumInOrder(stats);
            List<Integer> order = new ArrayList<>();
            for (int s = 0; s < shards; s++) {
                order.add(s);
                if (rng.nextBoolean()) {
                    order.add(s); // a repeat, as after a reassignment
                }
            }
            Collections.shuffle(order, rng);
            ShardSum sum = new ShardSum(shards);
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (int s : order) {
                assertEquals(seen.size() == shards, sum.complete());
                sum.add(s, stats.get(s).g().dup(), x.get(s).size(0));
                seen.add(s);
                assertTrue(sum.has(s));
            }
            assertTrue(sum.complete());
            assertArrayEquals(Matrices.toArray(expected.g()), Matrices.toArray(sum.sum()), "trial " + trial);
            assertEquals(expected.rows(), sum.rows());
        }
    }

    @Test
    void anIncompleteSumIsNotHandedOut() {
        ShardSum sum = new ShardSum(3);
        sum.add(2, Matrices.zeros(2, 2), 1);
        sum.add(0, Matrices.zeros(2, 2), 1);
        assertTrue(sum.has(2));
        assertFalse(sum.has(1));
        assertThrows(IllegalStateException.class, sum::sum);
    }
}
