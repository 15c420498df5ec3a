package io.iteris.core.merge;

import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Compact singular value decompositions of task updates, the common ground of the SVD-based merges (TSV-M,
 * Iso-C/Iso-CTS, KnOTS). A LoRA update s·B·A of rank r is decomposed without forming ΔW: thin QR of B and of Aᵀ,
 * then the SVD of the r×r core, so a layer costs O((out+in)·r²) instead of an out×in SVD.
 */
final class Spectral {
    /**
     * Singular values at or below this fraction of the largest are numerically zero: a LoRA sum's SVD beyond its
     * rank is rounding noise, and its directions are arbitrary.
     */
    static final double RANK_TOLERANCE = 1e-12;

    private Spectral() {
    }

    /** U·diag(s)·Vt with U [out×k] and Vt [k×in], row-major, s descending and positive. */
    record Compact(double[] u, double[] s, double[] vt, int out, int in, int k) {

        /** The leading {@code keep} components (all of them if fewer). */
        Compact top(int keep) {
            int kk = Math.min(keep, k);
            double[] u2 = new double[out * kk];
            for (int i = 0; i < out; i++) {
                System.arraycopy(u, i * k, u2, i * kk, kk);
            }
            double[] vt2 = new double[kk * in];
            System.arraycopy(vt, 0, vt2, 0, kk * in);
            return new Compact(u2, java.util.Arrays.copyOf(s, kk), vt2, out, in, kk);
        }

        INDArray uMatrix() {
            return Matrices.of(u, out, k);
        }

        INDArray vtMatrix() {
            return Matrices.of(vt, k, in);
        }

        /** U·diag(s)·Vt as a dense matrix (tests and dense fall-backs). */
        INDArray dense() {
            double[] us = u.clone();
            for (int i = 0; i < out; i++) {
                for (int j = 0; j < k; j++) {
                    us[i * k + j] *= s[j];
                }
            }
            return Blas.mmul(Matrices.of(us, out, k), vtMatrix());
        }
    }

    /** The task's weighted update m_i·ΔW_i, decomposed from its factors when it is a LoRA. */
    static Compact of(TaskLayer t) {
        if (t.lora() != null) {
            return ofFactors(t.lora().b(), t.lora().a(), t.lora().scale() * t.manualCoef());
        }
        return ofDense(t.delta().mul(t.manualCoef()));
    }

    /** The compact SVD of a dense matrix, numerically zero components dropped. */
    static Compact ofDense(INDArray m) {
        int out = Matrices.rows(m);
        int in = Matrices.cols(m);
        Lapack.Svd svd = Lapack.svd(Matrices.toArray(m), out, in);
        return truncate(new Compact(svd.u(), svd.s(), svd.vt(), out, in, svd.k()));
    }

    /** The compact SVD of scale·b·a (b [out×r], a [r×in]) from thin QRs and the r×r core's SVD. */
    static Compact ofFactors(INDArray b, INDArray a, double scale) {
        int out = Matrices.rows(b);
        int r = Matrices.cols(b);
        int in = Matrices.cols(a);
        if (r > out || r > in) {
            return ofDense(Blas.mmul(b, a).muli(scale));
        }
        Lapack.Qr qb = Lapack.thinQr(Matrices.toArray(b), out, r);
        Lapack.Qr qa = Lapack.thinQr(Matrices.toArray(a.transpose()), in, r);
        INDArray core = Blas.mmul(Matrices.of(qb.r(), r, r), Matrices.of(qa.r(), r, r).transpose()).muli(scale);
        Lapack.Svd svd = Lapack.svd(Matrices.toArray(core), r, r);
        // U = Q_b·U_core, Vt = Vt_core·Q_aᵀ
        INDArray u = Blas.mmul(Matrices.of(qb.q(), out, r), Matrices.of(svd.u(), r, r));
        INDArray vt = Blas.mmul(Matrices.of(svd.vt(), r, r), Matrices.of(qa.q(), in, r).transpose());
        return truncate(new Compact(Matrices.toArray(u), svd.s(), Matrices.toArray(vt), out, in, r));
    }

    private static Compact truncate(Compact c) {
        int k = 0;
        double largest = c.k() == 0 ? 0 : c.s()[0];
        while (k < c.k() && c.s()[k] > RANK_TOLERANCE * largest) {
            k++;
        }
        return k == c.k() ? c : c.top(k);
    }

    /**
     * The matrix with orthonormal columns nearest to x [m×n] in Frobenius norm (orthogonal Procrustes): P·Qᵀ from
     * x = P·Σ·Qᵀ. TSV-M and Iso-CTS use it to make concatenated singular vectors of different tasks orthogonal.
     */
    static INDArray nearestOrthonormal(INDArray x) {
        int m = Matrices.rows(x);
        int n = Matrices.cols(x);
        Lapack.Svd svd = Lapack.svd(Matrices.toArray(x), m, n);
        return Blas.mmul(Matrices.of(svd.u(), m, svd.k()), Matrices.of(svd.vt(), svd.k(), n));
    }

    /** Columns of several matrices side by side: [x_1 | x_2 | …], each with {@code rows} rows. */
    static INDArray hstack(java.util.List<INDArray> parts, int rows) {
        parts.forEach(p -> check(Matrices.rows(p) == rows, "rows"));
        return org.nd4j.linalg.factory.Nd4j.hstack(parts).dup('c');
    }

    /** Rows of several matrices stacked: [x_1; x_2; …], each with {@code cols} columns. */
    static INDArray vstack(java.util.List<INDArray> parts, int cols) {
        parts.forEach(p -> check(Matrices.cols(p) == cols, "columns"));
        return org.nd4j.linalg.factory.Nd4j.vstack(parts).dup('c');
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException("stacked matrices disagree in their " + what);
        }
    }

    /**
     * m_i·s_i·B_i of every task (out × r_i each): the left factors of the tasks' weighted LoRA updates, which
     * Iso-CTS sums and KnOTS aligns. Only when every update is a LoRA.
     */
    static java.util.List<INDArray> weightedLeftFactors(LayerMergeInput input) {
        java.util.List<INDArray> bs = new java.util.ArrayList<>();
        for (TaskLayer t : input.tasks()) {
            bs.add(t.lora().b().mul(t.lora().scale() * t.manualCoef()));
        }
        return bs;
    }

    /** diag(s)·m, scaling row j of m [k×n] by s_j (or column j of m [n×k] when {@code columns}). */
    static INDArray scale(INDArray m, double[] s, boolean columns) {
        int rows = Matrices.rows(m);
        int cols = Matrices.cols(m);
        double[] d = Matrices.toArray(m);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                d[i * cols + j] *= columns ? s[j] : s[i];
            }
        }
        return Matrices.of(d, rows, cols);
    }
}
