package io.iteris.bench.quality;

import io.iteris.core.merge.MergeMethods;
import io.iteris.core.model.ModelRunner;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The benchmark's caches serve what was computed, only that, and forget what they drop. */
class BenchCachesTest {
    private static Map<String, INDArray> update(double v) {
        return Map.of("layer", Nd4j.valueArrayOf(new long[]{2, 2}, v));
    }

    @Test
    void aRunServesItsFirstSolvesAndALongerAskOnlyWhenItStoppedEarly() {
        MergeCache cache = new MergeCache(100);
        List<Map<String, INDArray>> three = List.of(update(1), update(2), update(3));
        cache.put("k", three, 4);                     // asked for 4, stopped after 3: converged
        assertEquals(2, cache.get("k", 2).size());
        assertSame(three.get(1), cache.get("k", 2).get(1));
        assertEquals(3, cache.get("k", 6).size(), "a run that converged stops at the same solve however many are asked for");
        cache.put("j", three, 3);                     // ran all it was asked for
        assertNull(cache.get("j", 4), "a run that did not stop early cannot say what a fourth solve gives");
        assertNull(cache.get("other", 1));
    }

    @Test
    void theOldestRunsGoFirstAndTheirScoresWithThem() {
        MergeCache cache = new MergeCache(4);
        List<Map<String, INDArray>> a = List.of(update(1), update(2));
        List<Map<String, INDArray>> b = List.of(update(3), update(4));
        cache.put("a", a, 2);
        cache.put("b", b, 2);
        cache.putScore(a.get(1), "test", 0.5);
        assertEquals(0.5, cache.score(a.get(1), "test"));
        assertNull(cache.score(update(2), "test"), "scores are keyed by the result's identity, not its values");
        cache.get("a", 1);                            // a is now the most recently used
        cache.put("c", List.of(update(5), update(6), update(7), update(8), update(9)), 5);
        assertNull(cache.get("a", 1));
        assertNull(cache.get("b", 1));
        assertEquals(5, cache.get("c", 5).size(), "the run just put stays, even over the capacity");
        assertNull(cache.score(a.get(1), "test"));
        cache.putScore(a.get(1), "test", 0.7);
        assertNull(cache.score(a.get(1), "test"), "a result no longer cached takes no score");
    }

    @Test
    void aScoreIsMeasuredOnceWhileItsResultIsCachedAndEveryTimeOtherwise() {
        MergeCache cache = new MergeCache(10);
        List<Map<String, INDArray>> run = List.of(update(1));
        cache.put("r", run, 1);
        int[] measured = {0};
        java.util.function.DoubleSupplier measure = () -> ++measured[0];
        assertEquals(1.0, cache.scoreOf(run.get(0), "test/100", measure));
        assertEquals(1.0, cache.scoreOf(run.get(0), "test/100", measure), "the second ask is served");
        assertEquals(2.0, cache.scoreOf(run.get(0), "validation/100", measure), "another split is measured");
        Map<String, INDArray> loose = update(1);
        assertEquals(3.0, cache.scoreOf(loose, "test/100", measure));
        assertEquals(4.0, cache.scoreOf(loose, "test/100", measure), "a result not cached is measured every time");
    }

    @Test
    void theKeyIgnoresTheNumberOfSolvesAndNothingElse() {
        var c = com.typesafe.config.ConfigFactory.parseString("iteris.methods.iteris { iterations = 2, alpha_1 = 1e-4, alpha_2 = 1e-4 }");
        var d = com.typesafe.config.ConfigFactory.parseString("iteris.methods.iteris { iterations = 5, alpha_1 = 1e-4, alpha_2 = 1e-4 }");
        var e = com.typesafe.config.ConfigFactory.parseString("iteris.methods.iteris { iterations = 5, alpha_1 = 1e-3, alpha_2 = 1e-4 }");
        String k = MergeCache.key(MergeMethods.create("iteris", c), 3, 32, 0);
        assertEquals(k, MergeCache.key(MergeMethods.create("iteris", d), 3, 32, 0));
        assertNotEquals(k, MergeCache.key(MergeMethods.create("iteris", e), 3, 32, 0));
        assertNotEquals(k, MergeCache.key(MergeMethods.create("iteris", c), 3, 32, 1), "another draw");
        assertNotEquals(k, MergeCache.key(MergeMethods.create("iteris", c), 7, 32, 0), "other tasks");
        assertNotEquals(k, MergeCache.key(MergeMethods.create("iteris", c), 3, 16, 0), "other samples");
    }

    /** Counts its passes; its "inputs" are the samples scaled by the weight's first value. */
    static final class CountingRunner implements ModelRunner {
        int passes;

        @Override
        public List<String> targetLayers() {
            return List.of("layer");
        }

        @Override
        public int inputWidth() {
            return 2;
        }

        @Override
        public Forward run(Map<String, INDArray> weights, INDArray samples, boolean capture) {
            passes++;
            INDArray x = samples.reshape(samples.size(0), samples.size(2)).mul(weights.get("layer").getDouble(0));
            return new Forward(x, capture ? Map.of("layer", x) : Map.of());
        }
    }

    @Test
    void aCaptureIsComputedOncePerWeightsAndSamplesValues() {
        CountingRunner inner = new CountingRunner();
        FeatureCache cache = new FeatureCache(inner, 2);
        INDArray samples = Nd4j.createFromArray(new double[][][]{{{1, 2}}, {{3, 4}}});
        Map<String, INDArray> first = cache.capture(update(2), samples);
        Map<String, INDArray> again = cache.capture(new LinkedHashMap<>(update(2)), samples.dup());
        assertSame(first, again, "equal values, new arrays: one pass");
        assertEquals(1, inner.passes);
        assertEquals(Nd4j.createFromArray(new double[][]{{2, 4}, {6, 8}}), first.get("layer"));

        INDArray changed = samples.dup();
        changed.putScalar(new long[]{1, 0, 1}, 4.000000001);
        cache.capture(update(2), changed);
        cache.capture(update(3), samples);
        assertEquals(3, inner.passes, "one value of the samples or of the weights differs: a new pass");

        cache.capture(update(2), samples);            // the first was dropped: capacity 2
        assertEquals(4, inner.passes);
        assertEquals(1, cache.hits());
        List<Long> prints = new ArrayList<>();
        for (double v : new double[]{0.0, -0.0}) {
            prints.add(FeatureCache.fingerprint(update(v), samples));
        }
        assertNotEquals(prints.get(0), prints.get(1), "the bits are hashed: 0 and -0 are different weights");
    }
}
