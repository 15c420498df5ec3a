package io.iteris.bench.quality;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The suite's model runner with the task models' captures kept. Every data-aware merge begins by capturing each task's
 * layer inputs under its own LoRA model on the draw's samples, X_i, which depend on those samples and the task's
 * weights alone; a tuning grid runs dozens of merges on one draw, and the pairs reuse draw 0, so they share one
 * capture per task instead of recomputing it (on the text suite, a third of an IterIS merge's inference).
 *
 * <p>Only {@link #capture} is kept: the engines call it for the task models alone ({@code ShardInference.features}),
 * while the passes against a merged model go through {@link #statistics}, which is never cached. Entries are keyed
 * by a 64-bit fingerprint of the weights' and samples' values, not by identity: each merge builds its maps anew.
 * The values are only read by the engines, so one copy serves every merge.
 */
final class FeatureCache implements ModelRunner {
    private final ModelRunner inner;
    private final Map<Long, Map<String, INDArray>> captures;
    private int hits;
    private int misses;

    /** @param capacity captures kept, least recently used dropped first */
    FeatureCache(ModelRunner inner, int capacity) {
        this.inner = inner;
        this.captures = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Map<String, INDArray>> eldest) {
                return size() > capacity;
            }
        };
    }

    @Override
    public List<String> targetLayers() {
        return inner.targetLayers();
    }

    @Override
    public Map<String, String> inputOf() {
        return inner.inputOf();
    }

    @Override
    public long vocabularySize() {
        return inner.vocabularySize();
    }

    @Override
    public int inputWidth() {
        return inner.inputWidth();
    }

    @Override
    public Forward run(Map<String, INDArray> weights, INDArray samples, boolean capture) {
        return inner.run(weights, samples, capture);
    }

    @Override
    public synchronized Map<String, INDArray> capture(Map<String, INDArray> weights, INDArray samples) {
        long key = fingerprint(weights, samples);
        Map<String, INDArray> got = captures.get(key);
        if (got != null) {
            hits++;
            return got;
        }
        misses++;
        got = inner.capture(weights, samples);
        captures.put(key, got);
        return got;
    }

    @Override
    public Map<String, GramStatistics> statistics(Map<String, INDArray> weights, INDArray samples, Map<String, INDArray> x, boolean withG) {
        return inner.statistics(weights, samples, x, withG);
    }

    /** Captures served from the cache and computed, so far. */
    int hits() {
        return hits;
    }

    int misses() {
        return misses;
    }

    /** A 64-bit hash of every layer's name and values, in order, and of the samples' shape and values. */
    static long fingerprint(Map<String, INDArray> weights, INDArray samples) {
        long h = 0x9E3779B97F4A7C15L;
        for (Map.Entry<String, INDArray> e : weights.entrySet()) {
            h = mix(h, e.getKey().hashCode());
            h = values(h, e.getValue());
        }
        return values(h, samples);
    }

    private static long values(long h, INDArray x) {
        for (long d : x.shape()) {
            h = mix(h, d);
        }
        for (double v : Matrices.toArray(x)) {
            h = mix(h, Double.doubleToLongBits(v));
        }
        return h;
    }

    /** One step of a multiply-xorshift hash (the splitmix64 finaliser over the running state). */
    private static long mix(long h, long v) {
        long z = (h ^ v) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public void close() {
        inner.close();
    }
}
