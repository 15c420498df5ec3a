package io.iteris.bench.perf;

import java.util.Arrays;

/** Timing for benchmarks: warm-up runs first, then the median of repeated runs (robust to a busy machine). */
final class Measure {
    private Measure() {
    }

    interface Body {
        void run() throws Exception;
    }

    /** Median milliseconds of {@code reps} runs after {@code warmup} runs. */
    static double medianMillis(int warmup, int reps, Body body) {
        try {
            for (int i = 0; i < warmup; i++) {
                body.run();
            }
            double[] ms = new double[reps];
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                body.run();
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            return median(ms);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Fewer repetitions for big problems, so a sweep stays within minutes. */
    static int repsFor(double estimatedMillis) {
        return estimatedMillis > 2_000 ? 3 : estimatedMillis > 200 ? 5 : 9;
    }
}
