package io.iteris.core.linalg;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The native fast paths against ND4J's plain products, on random shapes (block edges included). */
class BlasTest {

    @Test
    void fastProductsAgreeWithThePlainOnes() {
        Random rng = new Random(3);
        Nd4j.getRandom().setSeed(3);
        for (int trial = 0; trial < 40; trial++) {
            int rows = 1 + rng.nextInt(300);
            int in = 1 + rng.nextInt(trial < 30 ? 70 : 400);
            int m = 1 + rng.nextInt(50);
            INDArray x = Nd4j.randn(DataType.DOUBLE, rows, in);
            INDArray y = Nd4j.randn(DataType.DOUBLE, rows, m);
            String what = "rows " + rows + ", in " + in + ", m " + m;
            INDArray g = Blas.gram(trial % 2 == 0 ? x : x.castTo(DataType.FLOAT).castTo(DataType.DOUBLE));
            INDArray plain = trial % 2 == 0 ? x.transpose().mmul(x) : x.castTo(DataType.FLOAT).castTo(DataType.DOUBLE).transpose()
                    .mmul(x.castTo(DataType.FLOAT).castTo(DataType.DOUBLE));
            assertTrue(Matrices.relativeError(g, plain) < 1e-13, what + ": gram");
            assertTrue(g.equals(g.transpose()), what + ": gram exactly symmetric");
            assertTrue(Matrices.relativeError(Blas.crossGram(x, y), x.transpose().mmul(y)) < 1e-13, what + ": crossGram");
            INDArray a = Nd4j.randn(DataType.DOUBLE, m, in);
            assertTrue(Matrices.relativeError(Blas.mmul(a, x.transpose()), a.mmul(x.transpose())) < 1e-13, what + ": mmul of a view");
            assertEquals(Matrices.frobenius(x), Blas.frobenius(x), 1e-13 * Matrices.frobenius(x), what + ": frobenius");
            INDArray acc = Nd4j.randn(DataType.DOUBLE, rows, in);
            INDArray expected = acc.add(x.mul(0.37));
            Blas.axpy(0.37, x, acc);
            assertTrue(Matrices.relativeError(acc, expected) < 1e-15, what + ": axpy");
        }
    }
}
