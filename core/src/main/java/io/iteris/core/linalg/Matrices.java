package io.iteris.core.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Small helpers over float64 ND4J matrices; everything the solvers touch is float64 and C-ordered. */
public final class Matrices {
    private Matrices() {
    }

    public static INDArray of(double[] data, long rows, long cols) {
        if ((long) data.length != rows * cols) {
            throw new IllegalArgumentException("need " + rows + "x" + cols + " values, got " + data.length);
        }
        return Nd4j.create(data, new long[]{rows, cols}, DataType.DOUBLE);
    }

    public static INDArray zeros(long rows, long cols) {
        return Nd4j.zeros(DataType.DOUBLE, rows, cols);
    }

    public static INDArray identity(long n) {
        return Nd4j.eye(n).castTo(DataType.DOUBLE);
    }

    public static int rows(INDArray m) {
        return (int) m.size(0);
    }

    public static int cols(INDArray m) {
        return (int) m.size(1);
    }

    /** Frobenius norm, accumulated in float64. */
    public static double frobenius(INDArray m) {
        double[] v = m.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        return frobenius(v);
    }

    public static double frobenius(double[] v) {
        // scaled sum of squares, as LAPACK's dnrm2 does, so large and tiny entries neither overflow nor underflow
        double scale = 0;
        double ssq = 1;
        for (double x : v) {
            if (x != 0) {
                double a = Math.abs(x);
                if (scale < a) {
                    ssq = 1 + ssq * (scale / a) * (scale / a);
                    scale = a;
                } else {
                    ssq += (a / scale) * (a / scale);
                }
            }
        }
        return scale * Math.sqrt(ssq);
    }

    /** ‖a − b‖_F / ‖b‖_F (0 when both are zero). */
    public static double relativeError(INDArray got, INDArray expected) {
        double denom = frobenius(expected);
        double num = frobenius(got.castTo(DataType.DOUBLE).sub(expected.castTo(DataType.DOUBLE)));
        if (denom == 0) {
            return num;
        }
        return num / denom;
    }

    /** (M + Mᵀ)/2: float sums of C + Cᵀ terms leave round-off asymmetry that Cholesky must not see. */
    public static INDArray symmetrize(INDArray m) {
        return m.add(m.transpose()).muli(0.5);
    }

    /** The values in C order as a fresh array. */
    public static double[] toArray(INDArray m) {
        return m.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }

    /** Whether every value is finite. */
    public static boolean allFinite(double[] v) {
        for (double x : v) {
            if (!Double.isFinite(x)) {
                return false;
            }
        }
        return true;
    }

    /** trace(A Bᵀ) = Σ_jk A_jk B_jk. */
    public static double dot(INDArray a, INDArray b) {
        double[] x = toArray(a);
        double[] y = toArray(b);
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }
}
