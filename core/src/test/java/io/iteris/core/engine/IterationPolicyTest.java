package io.iteris.core.engine;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.merge.MergeMethods;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loop's rules that both engines follow: solves, the early stop, and what a layer's first solve hands on. */
class IterationPolicyTest {
    private static MergeMethod iteris(int iterations, double tolerance) {
        return MergeMethods.create("iteris", ConfigFactory.parseMap(Map.of(
                "iteris.methods.iteris.iterations", iterations,
                "iteris.methods.iteris.early_stop_tolerance", tolerance)).withFallback(ConfigFactory.load()));
    }

    @Test
    void anIterativeMethodRunsItsSolvesAndStopsEarlyBelowItsTolerance() {
        IterationPolicy p = new IterationPolicy(iteris(4, 1e-3));
        assertEquals(4, p.solves());
        assertFalse(p.isLast(0, Double.NaN), "the first solve has no change to judge");
        assertFalse(p.isLast(1, 0.5));
        assertTrue(p.isLast(2, 1e-4), "a change under the tolerance ends the loop");
        assertTrue(p.isLast(3, 0.5), "the last solve ends it whatever the change");
    }

    @Test
    void aMethodThatNeedsNoDataSolvesOnce() {
        IterationPolicy p = new IterationPolicy(MergeMethods.create("task_arithmetic"));
        assertEquals(1, p.solves());
        assertTrue(p.isLast(0, Double.NaN));
    }

    @Test
    void theFirstSolvesCoefficientsAreCarriedAndLaterOnesIgnored() {
        IterationPolicy.CarryOver c = IterationPolicy.carryOver();
        assertNull(c.coefficients("a"));
        c.solved("a", new LayerMergeResult(Nd4j.zeros(1, 1), Map.of(), "none", null, new double[]{1, 2}));
        c.solved("a", new LayerMergeResult(Nd4j.zeros(1, 1), Map.of(), "none", null, new double[]{3, 4}));
        c.solved("b", LayerMergeResult.of(Nd4j.zeros(1, 1)));
        c.solved("b", new double[0]);
        assertArrayEquals(new double[]{1, 2}, c.coefficients("a"));
        assertNull(c.coefficients("b"), "a method that carries nothing hands nothing on");
    }
}
