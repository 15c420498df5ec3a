package io.iteris.core.linalg;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Solves W·S = T for W, with S symmetric: the closed form of IterIS and RegMean, W = T·S⁻¹, without ever
 * forming S⁻¹. Cholesky on the symmetrised S first (half the flops, fails loudly if S is not positive
 * definite), LU with partial pivoting as the fallback.
 */
public final class RightSolve {
    private RightSolve() {
    }

    public enum Method { CHOLESKY, LU }

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
        double[] a = sym.clone();
        double[] b = rhs.clone();
        if (Lapack.solveSpd(a, n, b, out) && Matrices.allFinite(b)) {
            return new Solution(Matrices.of(b, n, out).transpose().dup('c'), Method.CHOLESKY);
        }
        if (Lapack.solveGeneral(sym, n, rhs, out) && Matrices.allFinite(rhs)) {
            return new Solution(Matrices.of(rhs, n, out).transpose().dup('c'), Method.LU);
        }
        throw new SingularSystemException("the " + n + "x" + n + " system matrix is singular");
    }

    public static class SingularSystemException extends ArithmeticException {
        public SingularSystemException(String message) {
            super(message);
        }
    }
}
