package io.iteris.bench.quality;

import io.iteris.core.merge.MergeMethod;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The published updates of every data-aware merge of a run, after each solve, so that a merge asked for again is not
 * recomputed: label-free IterIS scores the very merges label-tuned IterIS was chosen from (same grid, same draw), the
 * tuned methods are merged again on draw 0, and a tuned IterIS of k solves is the k-th solve of a longer run with the
 * same parameters (the loop does not look ahead; a run that stopped early stops at the same solve). Also keeps the
 * accuracies measured on each cached result, keyed by the result's identity.
 */
final class MergeCache {
    /** A run: its updates after each solve, and whether it ended before the solves it was asked for. */
    private record Run(List<Map<String, INDArray>> solves, int asked) {
        boolean stoppedEarly() {
            return solves.size() < asked;
        }
    }

    private final int capacity;
    private int kept;
    private final Map<String, Run> runs = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<Map<String, INDArray>, Map<String, Double>> scores = new IdentityHashMap<>();

    /** @param capacity solves kept over all runs (each is one published update per layer), oldest runs dropped first */
    MergeCache(int capacity) {
        this.capacity = capacity;
    }

    /** The key of a merge: the method, its parameters but the number of solves, the tasks, the samples and the draw. */
    static String key(MergeMethod method, int mask, int samples, int draw) {
        Map<String, Object> p = new TreeMap<>(method.parameters());
        p.remove("iterations");
        return method.name() + p + "/" + mask + "/" + samples + "/" + draw;
    }

    /** The updates after each of the first {@code solves} solves (fewer where the run stopped early), or null. */
    synchronized List<Map<String, INDArray>> get(String key, int solves) {
        Run r = runs.get(key);
        if (r == null || (r.solves().size() < solves && !r.stoppedEarly())) {
            return null;
        }
        return r.solves().subList(0, Math.min(solves, r.solves().size()));
    }

    synchronized void put(String key, List<Map<String, INDArray>> solves, int asked) {
        Run old = runs.remove(key);
        if (old != null) {
            forget(old);
        }
        runs.put(key, new Run(new ArrayList<>(solves), asked));
        kept += solves.size();
        // the run just put is the most recent: never dropped, however many solves it holds
        while (kept > capacity && runs.size() > 1) {
            var eldest = runs.entrySet().iterator().next();
            runs.remove(eldest.getKey());
            forget(eldest.getValue());
        }
    }

    private void forget(Run r) {
        kept -= r.solves().size();
        r.solves().forEach(scores::remove);
    }

    /**
     * The score {@code what} (a split and its items, or an agreement) of a result: measured once while the result is
     * cached, and every time it is asked for otherwise.
     */
    double scoreOf(Map<String, INDArray> deltas, String what, java.util.function.DoubleSupplier measure) {
        Double got = score(deltas, what);
        if (got == null) {
            got = measure.getAsDouble();
            putScore(deltas, what, got);
        }
        return got;
    }

    /** A score measured on a cached result ({@code what} names the split and items), or null. */
    synchronized Double score(Map<String, INDArray> deltas, String what) {
        Map<String, Double> s = scores.get(deltas);
        return s == null ? null : s.get(what);
    }

    synchronized void putScore(Map<String, INDArray> deltas, String what, double value) {
        for (Run r : runs.values()) {
            for (Map<String, INDArray> d : r.solves()) {
                if (d == deltas) {
                    scores.computeIfAbsent(deltas, k -> new LinkedHashMap<>()).put(what, value);
                    return;
                }
            }
        }
    }
}
