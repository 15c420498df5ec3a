package io.iteris.core.linalg;

import org.bytedeco.openblas.global.openblas;

/**
 * The LAPACK calls iteris needs, through OpenBLAS (ND4J's own solve, inverse and SVD are broken or very
 * slow in 1.0.0-M2.1). All arrays are row-major float64; inputs are overwritten as LAPACK does.
 * Threads calling these need large stacks (-Xss16m): multi-threaded OpenBLAS overruns 1 MiB ones.
 */
public final class Lapack {
    static {
        // one OpenBLAS for the process, its kernel checked, before the first call (NativeMath)
        NativeMath.ensureReady();
    }

    private Lapack() {
    }

    /** Result of a singular value decomposition A = U·diag(s)·Vᵀ (economy size). */
    public record Svd(double[] u, double[] s, double[] vt, int m, int n, int k) {
    }

    /**
     * Solves A X = B for symmetric positive definite A [n×n] by Cholesky ({@code dposv}).
     * B [n×nrhs] is overwritten with X. Returns false when A is not positive definite.
     */
    public static boolean solveSpd(double[] a, int n, double[] b, int nrhs) {
        int info = openblas.LAPACKE_dposv(openblas.LAPACK_ROW_MAJOR, (byte) 'U', n, nrhs, a, n, b, nrhs);
        if (info < 0) {
            throw new IllegalArgumentException("dposv: argument " + (-info) + " is invalid");
        }
        return info == 0;
    }

    /**
     * Cholesky factorisation A = UᵀU of a dense symmetric positive definite float64 matrix in place
     * ({@code dpotrf} on its native memory, no copy); returns LAPACK's info (0: done, &gt; 0: not positive definite).
     */
    public static int choleskyInPlace(org.nd4j.linalg.api.ndarray.INDArray a) {
        Blas.requireDense(a, "choleskyInPlace");
        int n = Matrices.rows(a);
        try {
            return openblas.LAPACKE_dpotrf(openblas.LAPACK_COL_MAJOR, (byte) 'L', n, Blas.pointer(a), n);
        } finally {
            java.lang.ref.Reference.reachabilityFence(a);
        }
    }

    /** Solves A X = B by LU with partial pivoting ({@code dgesv}). Returns false when A is exactly singular. */
    public static boolean solveGeneral(double[] a, int n, double[] b, int nrhs) {
        int[] ipiv = new int[n];
        int info = openblas.LAPACKE_dgesv(openblas.LAPACK_ROW_MAJOR, n, nrhs, a, n, ipiv, b, nrhs);
        if (info < 0) {
            throw new IllegalArgumentException("dgesv: argument " + (-info) + " is invalid");
        }
        return info == 0;
    }

    /**
     * Reciprocal condition number (1-norm) of a symmetric positive definite A from its Cholesky factor as
     * {@link #solveSpd} left it ({@code dpocon}); {@code anorm} is A's 1-norm.
     */
    public static double rcondSpd(double[] factor, int n, double anorm) {
        double[] rcond = new double[1];
        int info = openblas.LAPACKE_dpocon(openblas.LAPACK_ROW_MAJOR, (byte) 'U', n, factor, n, anorm, rcond);
        if (info != 0) {
            throw new IllegalArgumentException("dpocon: info " + info);
        }
        return rcond[0];
    }

    /** Reciprocal condition number (1-norm) of A from its LU factors as {@link #solveGeneral} left them ({@code dgecon}). */
    public static double rcondGeneral(double[] lu, int n, double anorm) {
        double[] rcond = new double[1];
        int info = openblas.LAPACKE_dgecon(openblas.LAPACK_ROW_MAJOR, (byte) '1', n, lu, n, anorm, rcond);
        if (info != 0) {
            throw new IllegalArgumentException("dgecon: info " + info);
        }
        return rcond[0];
    }

    /** The 1-norm (largest absolute column sum) of a row-major n×n matrix. */
    public static double norm1(double[] a, int n) {
        double[] col = new double[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                col[j] += Math.abs(a[i * n + j]);
            }
        }
        double max = 0;
        for (double c : col) {
            max = Math.max(max, c);
        }
        return max;
    }

    /** A thin QR factorisation A = Q·R of a tall matrix: q [m×n] with orthonormal columns, r [n×n] upper triangular. */
    public record Qr(double[] q, double[] r, int m, int n) {
    }

    /** Thin QR of A [m×n], m ≥ n, row-major ({@code dgeqrf}, then {@code dorgqr} for Q); {@code a} is overwritten. */
    public static Qr thinQr(double[] a, int m, int n) {
        if (m < n) {
            throw new IllegalArgumentException("thin QR needs m >= n, got " + m + "x" + n);
        }
        double[] tau = new double[n];
        int info = openblas.LAPACKE_dgeqrf(openblas.LAPACK_ROW_MAJOR, m, n, a, n, tau);
        if (info != 0) {
            throw new IllegalArgumentException("dgeqrf: info " + info);
        }
        double[] r = new double[n * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a, i * n + i, r, i * n + i, n - i);
        }
        info = openblas.LAPACKE_dorgqr(openblas.LAPACK_ROW_MAJOR, m, n, n, a, n, tau);
        if (info != 0) {
            throw new IllegalArgumentException("dorgqr: info " + info);
        }
        return new Qr(a, r, m, n);
    }

    /**
     * Economy SVD of A [m×n], singular values descending: divide and conquer ({@code dgesdd}), and where that fails
     * to converge, QR iteration ({@code dgesvd}). dgesdd's divide step does fail on some rank-deficient matrices: a
     * sum of six rank-8 LoRAs in a 384×384 layer stopped the text benchmark with info 1 (OpenBLAS 0.3.19's kernels;
     * whether it fails depends on the library and the CPU). {@code a} is overwritten.
     */
    public static Svd svd(double[] a, int m, int n) {
        return svd(a, m, n, Lapack::dgesdd);
    }

    /** One economy SVD driver: LAPACK's info, with s, u and vt filled where it is 0. */
    @FunctionalInterface
    interface SvdDriver {
        int run(double[] a, int m, int n, double[] s, double[] u, double[] vt);
    }

    /** {@link #svd(double[], int, int)} with the first driver given, so that tests can make it fail. */
    static Svd svd(double[] a, int m, int n, SvdDriver first) {
        int k = Math.min(m, n);
        double[] s = new double[k];
        double[] u = new double[m * k];
        double[] vt = new double[k * n];
        double[] copy = a.clone();
        int info = first.run(a, m, n, s, u, vt);
        if (info > 0) {
            info = openblas.LAPACKE_dgesvd(openblas.LAPACK_ROW_MAJOR, (byte) 'S', (byte) 'S', m, n, copy, n, s, u, k, vt, n,
                    new double[Math.max(1, k - 1)]);
            if (info != 0) {
                throw new ArithmeticException("neither dgesdd nor dgesvd converged (info " + info + ") on a " + m + "x" + n + " matrix");
            }
        } else if (info != 0) {
            throw new IllegalArgumentException("dgesdd: illegal argument " + (-info) + " for a " + m + "x" + n + " matrix");
        }
        return new Svd(u, s, vt, m, n, k);
    }

    /** Divide-and-conquer economy SVD, row-major ({@code dgesdd}); {@code a} is overwritten. */
    static int dgesdd(double[] a, int m, int n, double[] s, double[] u, double[] vt) {
        int k = Math.min(m, n);
        return openblas.LAPACKE_dgesdd(openblas.LAPACK_ROW_MAJOR, (byte) 'S', m, n, a, n, s, u, k, vt, n);
    }
}
