package io.iteris.core.linalg;

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
