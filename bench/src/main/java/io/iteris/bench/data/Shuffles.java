package io.iteris.bench.data;

import java.util.SplittableRandom;

/** Seeded Fisher–Yates permutations: the same seed gives the same order on every machine. */
public final class Shuffles {
    private Shuffles() {
    }

    /** A permutation of 0…n−1 drawn from {@code rng}. */
    public static int[] permutation(int n, SplittableRandom rng) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
