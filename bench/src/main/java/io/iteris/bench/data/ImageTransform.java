package io.iteris.bench.data;

import java.util.SplittableRandom;

/** What makes a task out of a set of images: the same pictures turned, shuffled or inverted. */
public enum ImageTransform {
    IDENTITY, ROTATE_90, ROTATE_180, PERMUTE, INVERT;

    /** The seed of the fixed pixel permutation: part of the task's definition, never changed. */
    static final long PERMUTATION_SEED = 20251124L;

    public ImageSet apply(ImageSet in) {
        if (this == IDENTITY) {
            return in;
        }
        int r = in.rows();
        int c = in.cols();
        int p = r * c;
        int[] perm = this == PERMUTE ? permutation(p) : null;
        byte[] out = new byte[in.pixels().length];
        for (int n = 0; n < in.size(); n++) {
            int base = n * p;
            for (int y = 0; y < r; y++) {
                for (int x = 0; x < c; x++) {
                    int src = base + y * c + x;
                    int dst = switch (this) {
                        case ROTATE_90 -> base + x * r + (r - 1 - y); // clockwise: (y, x) -> (x, r-1-y)
                        case ROTATE_180 -> base + (r - 1 - y) * c + (c - 1 - x);
                        case PERMUTE -> base + perm[y * c + x];
                        default -> src;
                    };
                    out[dst] = this == INVERT ? (byte) (255 - (in.pixels()[src] & 0xff)) : in.pixels()[src];
                }
            }
        }
        return new ImageSet(out, in.labels().clone(), this == ROTATE_90 ? c : r, this == ROTATE_90 ? r : c);
    }

    static int[] permutation(int n) {
        return Shuffles.permutation(n, new SplittableRandom(PERMUTATION_SEED));
    }
}
