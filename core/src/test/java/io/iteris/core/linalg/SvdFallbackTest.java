package io.iteris.core.linalg;

import io.iteris.core.peft.PeftAdapter;
import org.bytedeco.openblas.global.openblas;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A matrix on which dgesdd's divide and conquer fails to converge (the sum of the six shipped text LoRAs' updates
 * of layer 3's query projection, rank 48 in 384×384), still decomposed: {@link Lapack#svd} falls back to dgesvd.
 */
class SvdFallbackTest {
    @Test
    void aSumOfLorasThatStopsDivideAndConquerIsStillDecomposedExactly() {
        INDArray sum = null;
        for (String task : List.of("spam", "topic", "names", "language", "sotu", "valence")) {
            INDArray d = PeftAdapter.load(Path.of("..", "examples", "text", "adapters", task)).modules()
                    .get("encoder.layer.3.attention.self.query").delta();
            sum = sum == null ? d : sum.addi(d);
        }
        int n = (int) sum.size(0);
        double[] values = Matrices.toArray(sum);
        int info = openblas.LAPACKE_dgesdd(openblas.LAPACK_ROW_MAJOR, (byte) 'S', n, n, values.clone(), n, new double[n],
                new double[n * n], n, new double[n * n], n);
        assertNotEquals(0, info, "this matrix makes the bundled dgesdd fail: the case the fallback is for");

        Lapack.Svd svd = Lapack.svd(values, n, n);
        double[] us = svd.u().clone();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                us[i * n + j] *= svd.s()[j];
            }
        }
        INDArray back = Blas.mmul(Matrices.of(us, n, n), Matrices.of(svd.vt(), n, n));
        double err = Matrices.relativeError(back, sum);
        assertTrue(err < 1e-12, "U·S·Vᵀ reproduces the matrix: relative error " + err);
        for (int j = 1; j < n; j++) {
            assertTrue(svd.s()[j] <= svd.s()[j - 1], "singular values descending");
        }
    }
}
