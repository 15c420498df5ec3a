package io.iteris.core.linalg;

import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Solves W·S = T for W, with S symmetric: the closed form of IterIS and RegMean, W = T·S⁻¹, without ever
 * forming S⁻¹. Cholesky on the symmetrised S first (half the flops, fails loudly if S is not positive
 * definite), LU with partial pivoting as the fallback. A system whose reciprocal condition number is below
 * {@link #MIN_RCOND} is refused rather than solved: its solution would be mostly rounding error.
 */
public final class RightSolve {
    private RightSolve() {
    }

    public enum Method { CHOLESKY, LU }

    /**
     * The smallest reciprocal condition number (1-norm estimate) of S that is solved: below it fewer than about
     * three of float64's sixteen significant digits of W would be right.
     */
    public static final double MIN_RCOND = 1e-13;

    public record Solution(INDArray w, Method method) {
    }

    /**
     * @param t [out×in] right-hand side
     * @param s [in×in] symmetric system matrix
     * @throws SingularSystemException when S is singular for both methods
     */
    public static Solution solve(INDArray t, INDArray s) {
        int n = Matrices.rows(s);
        int out = Matrices.rows(t);
        if (Matrices.cols(s) != n || Matrices.cols(t) != n) {
            throw new IllegalArgumentException("shapes do not fit: T " + java.util.Arrays.toString(t.shape())
                    + ", S " + java.util.Arrays.toString(s.shape()));
        }
        double[] sym = Matrices.toArray(Matrices.symmetrize(s));
        double[] rhs = Matrices.toArray(t.transpose()); // S Wᵀ = Tᵀ
        double anorm = Lapack.norm1(sym, n);
        double[] a = sym.clone();
        double[] b = rhs.clone();
        if (Lapack.solveSpd(a, n, b, out) && Matrices.allFinite(b)) {
            checkConditioned(Lapack.rcondSpd(a, n, anorm), n);
            return new Solution(Matrices.of(b, n, out).transpose().dup('c'), Method.CHOLESKY);
        }
        if (Lapack.solveGeneral(sym, n, rhs, out) && Matrices.allFinite(rhs)) {
            checkConditioned(Lapack.rcondGeneral(sym, n, anorm), n);
            return new Solution(Matrices.of(rhs, n, out).transpose().dup('c'), Method.LU);
        }
        throw new SingularSystemException("the " + n + "x" + n + " system matrix is singular");
    }

    /**
     * W = T·S⁻¹ in place on native memory, for S known to be exactly symmetric: Cholesky of S in its own buffer
     * ({@code dpotrf}, one triangle read), the condition check, and {@code dpotrs} on T's buffer (T [k×n] row-major
     * is Tᵀ column-major, so no transposition anywhere). No copy of S or T is made. Only when S is not positive
     * definite is {@code freshS} asked for an intact S, and the general path ({@link #solve}, LU) takes over.
     *
     * @param s      [n×n] dense, exactly symmetric; destroyed (holds its Cholesky factor afterwards)
     * @param t      [k×n] dense C-ordered; overwritten with W when the method is CHOLESKY
     * @param freshS S again, for the fallback
     */
    public static Solution solveSymmetricInPlace(INDArray s, INDArray t, java.util.function.Supplier<INDArray> freshS) {
        int n = Matrices.rows(s);
        int k = Matrices.rows(t);
        if (Matrices.cols(s) != n || Matrices.cols(t) != n) {
            throw new IllegalArgumentException("shapes do not fit: T " + java.util.Arrays.toString(t.shape())
                    + ", S " + java.util.Arrays.toString(s.shape()));
        }
        Blas.requireDense(s, "system matrix");
        Blas.requireDense(t, "right-hand side");
        try {
            org.bytedeco.javacpp.DoublePointer sp = Blas.pointer(s);
            double anorm = openblas.LAPACKE_dlansy(openblas.LAPACK_COL_MAJOR, (byte) '1', (byte) 'L', n, sp, n);
            int info = openblas.LAPACKE_dpotrf(openblas.LAPACK_COL_MAJOR, (byte) 'L', n, sp, n);
            if (info < 0) {
                throw new IllegalArgumentException("dpotrf: argument " + (-info) + " is invalid");
            }
            if (info == 0 && Double.isFinite(anorm)) {
                try (org.bytedeco.javacpp.DoublePointer rcond = new org.bytedeco.javacpp.DoublePointer(1)) {
                    if (openblas.LAPACKE_dpocon(openblas.LAPACK_COL_MAJOR, (byte) 'L', n, sp, n, anorm, rcond) != 0) {
                        throw new IllegalArgumentException("dpocon failed");
                    }
                    checkConditioned(rcond.get(0), n);
                }
                openblas.LAPACKE_dpotrs(openblas.LAPACK_COL_MAJOR, (byte) 'L', n, k, sp, n, Blas.pointer(t), n);
                return new Solution(t, Method.CHOLESKY);
            }
        } finally {
            java.lang.ref.Reference.reachabilityFence(s);
            java.lang.ref.Reference.reachabilityFence(t);
        }
        return solve(t, freshS.get());
    }

    private static void checkConditioned(double rcond, int n) {
        if (!(rcond >= MIN_RCOND)) {
            throw new SingularSystemException(String.format(java.util.Locale.ROOT,
                    "the %dx%d system matrix is nearly singular (reciprocal condition number %.2e, below %.0e)", n, n, rcond, MIN_RCOND));
        }
    }

    public static class SingularSystemException extends ArithmeticException {
        public SingularSystemException(String message) {
            super(message);
        }
    }
}
