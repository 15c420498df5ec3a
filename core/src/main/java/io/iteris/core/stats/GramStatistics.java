package io.iteris.core.stats;

import io.iteris.core.linalg.Blas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * One task's sufficient statistics at one layer: G = XᵀX, C = XᵀX̃, H = X̃ᵀX̃ (each in×in, float64), summed
 * over calibration rows, where X are the layer's inputs under the task's own LoRA model and X̃ those under
 * the current merged model, row k of one paired with row k of the other.
 *
 * <p>They are plain sums over rows, so statistics of disjoint shards of the samples add up exactly to the
 * statistics of the whole; only sums taken in the same order are bit-identical, hence {@link #sumInOrder}.
 * G and H are symmetric: {@link Blas#gram} computes their upper triangle (half the FLOPs of a general product)
 * and mirrors it, so they are exactly symmetric.
 *
 * <p>G may be absent ({@link #hasG}): X never changes, so after the first solve G is needed only for what was
 * computed from it then (the adaptive coefficients, kept by the caller) or when ρ > 0, and is not recomputed.
 */
public final class GramStatistics {
    private final INDArray g;
    private final INDArray c;
    private final INDArray h;
    private final long rows;

    /** @param g G, or null when it was not computed (then C and H are given) */
    public GramStatistics(INDArray g, INDArray c, INDArray h, long rows) {
        long n = (g != null ? g : c).size(0);
        for (INDArray m : new INDArray[]{g, c, h}) {
            if (m != null && (m.rank() != 2 || m.size(0) != n || m.size(1) != n)) {
                throw new IllegalArgumentException("statistics must be square " + n + "x" + n);
            }
        }
        if (c == null || h == null) {
            throw new IllegalArgumentException("statistics need C and H");
        }
        this.g = g;
        this.c = c;
        this.h = h;
        this.rows = rows;
    }

    /** Iteration 0: the merged model is assumed to see the task model's inputs, so X̃ = X and C = H = G. */
    public static GramStatistics ofFeatures(INDArray x) {
        INDArray g = Blas.gram(asDouble(x));
        return new GramStatistics(g, g, g, x.size(0));
    }

    /** Statistics of paired rows: x [rows×in] under the task model, xTilde [rows×in] under the merged model. */
    public static GramStatistics of(INDArray x, INDArray xTilde) {
        return of(x, xTilde, true);
    }

    /** As {@link #of(INDArray, INDArray)}, computing G only when {@code withG}. */
    public static GramStatistics of(INDArray x, INDArray xTilde, boolean withG) {
        if (x.size(0) != xTilde.size(0) || x.size(1) != xTilde.size(1)) {
            throw new IllegalArgumentException("X " + java.util.Arrays.toString(x.shape()) + " and X~ "
                    + java.util.Arrays.toString(xTilde.shape()) + " must pair row for row");
        }
        INDArray xd = Blas.dense(asDouble(x));
        INDArray td = Blas.dense(asDouble(xTilde));
        return new GramStatistics(withG ? Blas.gram(xd) : null, Blas.crossGram(xd, td), Blas.gram(td), xd.size(0));
    }

    private static INDArray asDouble(INDArray x) {
        if (x.rank() != 2) {
            throw new IllegalArgumentException("features must be [rows, in], got " + java.util.Arrays.toString(x.shape()));
        }
        return x.dataType() == DataType.DOUBLE ? x : x.castTo(DataType.DOUBLE);
    }

    /** Sum of shard statistics in list order, so the result never depends on which shard arrived first. */
    public static GramStatistics sumInOrder(List<GramStatistics> shards) {
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("no shards to sum");
        }
        GramStatistics first = shards.get(0);
        boolean aligned = shards.stream().allMatch(GramStatistics::isAligned);
        boolean withG = shards.stream().allMatch(GramStatistics::hasG);
        INDArray g = withG ? first.g.dup() : null;
        INDArray c = aligned ? g : first.c.dup();
        INDArray h = aligned ? g : first.h.dup();
        long rows = first.rows;
        for (GramStatistics s : shards.subList(1, shards.size())) {
            if (withG) {
                g.addi(s.g);
            }
            if (!aligned) {
                c.addi(s.c);
                h.addi(s.h);
            }
            rows += s.rows;
        }
        return new GramStatistics(g, c, h, rows);
    }

    /** The same C and H with G (kept from an earlier iteration) put back. */
    public GramStatistics withG(INDArray keptG) {
        return new GramStatistics(keptG, c, h, rows);
    }

    /** G; fails when it was not computed. */
    public INDArray g() {
        if (g == null) {
            throw new IllegalStateException("G = XᵀX was not computed for these statistics");
        }
        return g;
    }

    public boolean hasG() {
        return g != null;
    }

    public INDArray c() {
        return c;
    }

    public INDArray h() {
        return h;
    }

    public long rows() {
        return rows;
    }

    public int dim() {
        return (int) c.size(0);
    }

    /** Whether C and H are G itself (iteration 0). */
    public boolean isAligned() {
        return g != null && c == g && h == g;
    }
}
