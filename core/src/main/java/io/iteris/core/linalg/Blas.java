package io.iteris.core.linalg;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.lang.ref.Reference;
import java.nio.DoubleBuffer;

/**
 * BLAS level-1/3 calls on ND4J matrices' own native memory (no copy onto the Java heap), through the same
 * OpenBLAS that ND4J and {@link Lapack} use. Every call is single-pass and deterministic for a given input, so
 * engines that compute through these agree to the bit.
 */
public final class Blas {
    static {
        // one OpenBLAS for the process, its kernel checked, before the first call (NativeMath)
        NativeMath.ensureReady();
    }

    private Blas() {
    }

    /** The matrix as a dense, C-ordered float64 array at offset 0: itself when it already is one. */
    public static INDArray dense(INDArray m) {
        INDArray d = m.dataType() == DataType.DOUBLE ? m : m.castTo(DataType.DOUBLE);
        return d.isView() || d.ordering() != 'c' || d.offset() != 0 || d.data().length() != d.length() ? d.dup('c') : d;
    }

    /** Native pointer to a {@link #dense} matrix's values; the caller keeps the matrix reachable while using it. */
    static DoublePointer pointer(INDArray dense) {
        DoublePointer p = new DoublePointer(dense.data().addressPointer());
        return p.capacity(dense.length()).limit(dense.length());
    }

    /** ‖m‖_F by {@code dnrm2} (scaled, so neither overflows nor underflows). */
    public static double frobenius(INDArray m) {
        INDArray d = dense(m);
        try {
            return openblas.cblas_dnrm2(Math.toIntExact(d.length()), pointer(d), 1);
        } finally {
            Reference.reachabilityFence(d);
        }
    }

    /** y += alpha·x in place; y a contiguous float64 array (either order), x of its shape. */
    public static void axpy(double alpha, INDArray x, INDArray y) {
        if (y.dataType() != DataType.DOUBLE || y.isView() || y.offset() != 0 || y.data().length() != y.length()) {
            throw new IllegalArgumentException("axpy target: needs a contiguous float64 array");
        }
        if (!java.util.Arrays.equals(x.shape(), y.shape())) {
            throw new IllegalArgumentException("axpy: " + java.util.Arrays.toString(x.shape()) + " into " + java.util.Arrays.toString(y.shape()));
        }
        INDArray xd = x.dataType() == DataType.DOUBLE && !x.isView() && x.ordering() == y.ordering() && x.offset() == 0
                && x.data().length() == x.length() ? x : x.castTo(DataType.DOUBLE).dup(y.ordering());
        try {
            openblas.cblas_daxpy(Math.toIntExact(y.length()), alpha, pointer(xd), 1, pointer(y), 1);
        } finally {
            Reference.reachabilityFence(xd);
            Reference.reachabilityFence(y);
        }
    }

    /** a·b by one {@code dgemm} straight on native memory, the result dense C-ordered float64. */
    public static INDArray mmul(INDArray a, INDArray b) {
        return gemm(false, a, b);
    }

    /** aᵀb [n×m] of a [rows×n] and b [rows×m] by one {@code dgemm} on native memory, dense C-ordered. */
    public static INDArray crossGram(INDArray a, INDArray b) {
        return gemm(true, a, b);
    }

    /** op(a)·b, op(a) = aᵀ when {@code transposeA}, by one row-major {@code dgemm} into a fresh C-ordered matrix. */
    private static INDArray gemm(boolean transposeA, INDArray a, INDArray b) {
        INDArray ad = dense(a);
        INDArray bd = dense(b);
        int m = transposeA ? Matrices.cols(ad) : Matrices.rows(ad);
        int k = transposeA ? Matrices.rows(ad) : Matrices.cols(ad);
        int n = Matrices.cols(bd);
        if (Matrices.rows(bd) != k) {
            throw new IllegalArgumentException("product of " + m + "x" + k + " and " + Matrices.rows(bd) + "x" + n + " matrices");
        }
        INDArray c = uninitialized(m, n);
        try {
            openblas.cblas_dgemm(openblas.CblasRowMajor, transposeA ? openblas.CblasTrans : openblas.CblasNoTrans, openblas.CblasNoTrans,
                    m, n, k, 1.0, pointer(ad), Matrices.cols(ad), pointer(bd), n, 0.0, pointer(c), n);
        } finally {
            Reference.reachabilityFence(ad);
            Reference.reachabilityFence(bd);
            Reference.reachabilityFence(c);
        }
        return c;
    }

    /**
     * XᵀX [in×in] of X [rows×in] at half the FLOPs of a general product: the upper triangle by {@code dsyrk}, then the
     * lower triangle mirrored from the upper, so the result is exactly symmetric. (OpenBLAS 0.3.19's dsyrk ran well
     * below its dgemm rate and a panel-by-panel dgemm stood in for it; 0.3.31's runs at the dgemm rate: measured in
     * docs/performance.md, bench gram.)
     */
    public static INDArray gram(INDArray x) {
        INDArray xd = dense(x);
        int rows = Matrices.rows(xd);
        int in = Matrices.cols(xd);
        INDArray c = uninitialized(in, in);
        try {
            openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasUpper, openblas.CblasTrans, in, rows, 1.0, pointer(xd), in,
                    0.0, pointer(c), in);
            mirrorUpper(c);
        } finally {
            Reference.reachabilityFence(xd);
            Reference.reachabilityFence(c);
        }
        return c;
    }

    /** A float64 C-ordered matrix whose every value the caller overwrites (dgemm with β = 0 reads nothing). */
    private static INDArray uninitialized(long rows, long cols) {
        return org.nd4j.linalg.factory.Nd4j.createUninitialized(DataType.DOUBLE, new long[]{rows, cols}, 'c');
    }

    /** Copies the upper triangle of a dense square matrix onto its lower one, block by block (cache-friendly). */
    public static void mirrorUpper(INDArray m) {
        requireDense(m, "mirror");
        int n = Matrices.rows(m);
        try {
            DoubleBuffer b = pointer(m).asBuffer();
            final int block = 64;
            for (int i0 = 0; i0 < n; i0 += block) {
                for (int j0 = 0; j0 <= i0; j0 += block) {
                    int iEnd = Math.min(n, i0 + block);
                    int jEnd = Math.min(n, j0 + block);
                    for (int i = i0; i < iEnd; i++) {
                        int row = i * n;
                        for (int j = j0; j < Math.min(jEnd, i); j++) {
                            b.put(row + j, b.get(j * n + i));
                        }
                    }
                }
            }
        } finally {
            Reference.reachabilityFence(m);
        }
    }

    /** Adds {@code value} to the diagonal of a dense square matrix in place. */
    public static void addToDiagonal(INDArray m, double value) {
        requireDense(m, "diagonal");
        int n = Matrices.rows(m);
        try {
            DoubleBuffer b = pointer(m).asBuffer();
            for (int i = 0; i < n; i++) {
                b.put(i * (n + 1), b.get(i * (n + 1)) + value);
            }
        } finally {
            Reference.reachabilityFence(m);
        }
    }

    static void requireDense(INDArray m, String what) {
        if (m.dataType() != DataType.DOUBLE || m.isView() || m.ordering() != 'c' || m.offset() != 0 || m.data().length() != m.length()) {
            throw new IllegalArgumentException(what + ": needs a dense C-ordered float64 matrix");
        }
    }
}
