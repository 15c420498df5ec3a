package io.iteris.core.linalg;

import io.iteris.core.export.LoraExporter;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LinearAlgebraTest {
    private static INDArray random(int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return Matrices.of(v, rows, cols);
    }

    @Test
    void rightSolveUsesCholeskyForPositiveDefiniteSystems() {
        INDArray a = random(30, 20, 1);
        INDArray s = a.transpose().mmul(a).addi(Matrices.identity(20).muli(0.1));
        INDArray w = random(7, 20, 2);
        RightSolve.Solution sol = RightSolve.solve(w.mmul(s), s);
        assertEquals(RightSolve.Method.CHOLESKY, sol.method());
        assertTrue(Matrices.relativeError(sol.w(), w) < 1e-12);
    }

    @Test
    void rightSolveFallsBackToLuForIndefiniteSystems() {
        INDArray s = Matrices.identity(5);
        s.putScalar(2, 2, -3.0);
        INDArray w = random(4, 5, 3);
        RightSolve.Solution sol = RightSolve.solve(w.mmul(s), s);
        assertEquals(RightSolve.Method.LU, sol.method());
        assertTrue(Matrices.relativeError(sol.w(), w) < 1e-14);
    }

    @Test
    void singularSystemsAreReported() {
        INDArray s = Matrices.zeros(4, 4);
        assertThrows(RightSolve.SingularSystemException.class, () -> RightSolve.solve(random(2, 4, 4), s));
    }

    @Test
    void fullRankFactorisationReproducesTheDelta() {
        INDArray delta = random(40, 6, 5).mmul(random(6, 30, 6));
        LoraExporter.Factorised f = LoraExporter.factorise(delta, 6);
        assertTrue(Matrices.relativeError(f.b().mmul(f.a()), delta) < 1e-13);
        assertEquals(1.0, f.energyKept(), 1e-14);
        LoraExporter.Factorised lower = LoraExporter.factorise(delta, 3);
        assertTrue(lower.energyKept() < 1 && lower.energyKept() > 0);
        double err = Matrices.relativeError(lower.b().mmul(lower.a()), delta);
        assertEquals(Math.sqrt(1 - lower.energyKept()), err, 1e-10, "Eckart-Young: the error is the energy left out");
    }

    @Test
    void factorsAreCutAsTheDenseDeltaWouldBe() {
        java.util.Random rng = new java.util.Random(17);
        for (int trial = 0; trial < 25; trial++) {
            int inner = 1 + rng.nextInt(12);
            int out = 1 + rng.nextInt(60);
            int in = 1 + rng.nextInt(60);
            INDArray b = random(out, inner, 100 + trial);
            INDArray a = random(inner, in, 200 + trial);
            INDArray delta = b.mmul(a);
            int rank = 1 + rng.nextInt(inner + 2);
            String what = "out " + out + ", in " + in + ", R " + inner + ", rank " + rank;
            LoraExporter.Factorised fromFactors = LoraExporter.factorise(new io.iteris.core.merge.LayerMergeResult.Factors(b, a), rank);
            LoraExporter.Factorised fromDense = LoraExporter.factorise(delta, Math.min(rank, inner));
            assertEquals(fromDense.energyKept(), fromFactors.energyKept(), 1e-12, what);
            assertTrue(fromFactors.rank() <= inner, what);
            INDArray got = fromFactors.b().mmul(fromFactors.a());
            double err = Matrices.relativeError(got, delta);
            assertEquals(Math.sqrt(Math.max(0, 1 - fromFactors.energyKept())), err, 1e-9, what + ": Eckart-Young");
            if (fromFactors.rank() >= Math.min(inner, Math.min(out, in))) {
                assertTrue(err < 1e-12, what + ": full rank reproduces B·A, error " + err);
            }
        }
    }

    @Test
    void frobeniusSurvivesHugeAndTinyValues() {
        assertEquals(5e300, Matrices.frobenius(new double[]{3e300, 4e300}), 1e288);
        assertEquals(5e-300, Matrices.frobenius(new double[]{3e-300, 4e-300}), 1e-312);
    }
}
