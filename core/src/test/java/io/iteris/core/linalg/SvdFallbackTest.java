package io.iteris.core.linalg;

import io.iteris.core.peft.PeftAdapter;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SVD's fallback: dgesdd's divide and conquer failed to converge (info 1, OpenBLAS 0.3.19) on the sum of the six
 * shipped text LoRAs' updates of layer 3's query projection, rank 48 in 384×384. Whether the real dgesdd fails depends
 * on the library and the CPU, so the failure is injected: the fallback itself is checked on every machine, and where the
 * real dgesdd converges its answer is checked against the fallback's.
 */
class SvdFallbackTest {
    private static final int FAILED = 1; // the info the real dgesdd returned on this matrix

    private static INDArray loraSum() {
        INDArray sum = null;
        for (String task : List.of("spam", "topic", "names", "language", "sotu", "valence")) {
            INDArray d = PeftAdapter.load(Path.of("..", "examples", "text", "adapters", task)).modules()
                    .get("encoder.layer.3.attention.self.query").delta();
            sum = sum == null ? d : sum.addi(d);
        }
        return sum;
    }

    @Test
    void whenDivideAndConquerFailsTheFallbackStillDecomposesExactly() {
        INDArray sum = loraSum();
        int n = (int) sum.size(0);
        AtomicInteger calls = new AtomicInteger();
        // A failed dgesdd leaves its outputs and its input undefined: scribble over them, so the fallback must start
        // again from the untouched matrix.
        Lapack.Svd svd = Lapack.svd(Matrices.toArray(sum), n, n, (a, m, cols, s, u, vt) -> {
            calls.incrementAndGet();
            Arrays.fill(a, Double.NaN);
            Arrays.fill(s, 7.0);
            Arrays.fill(u, -1.0);
            return FAILED;
        });
        assertEquals(1, calls.get(), "the injected dgesdd ran");
        assertReproduces(svd, sum);
    }

    @Test
    void whereTheRealDivideAndConquerConvergesItAgreesWithTheFallback() {
        INDArray sum = loraSum();
        int n = (int) sum.size(0);
        double[] values = Matrices.toArray(sum);
        int[] info = new int[1];
        Lapack.Svd real = Lapack.svd(values.clone(), n, n, (a, m, cols, s, u, vt) -> info[0] = Lapack.dgesdd(a, m, cols, s, u, vt));
        Lapack.Svd fallback = Lapack.svd(values.clone(), n, n, (a, m, cols, s, u, vt) -> FAILED);
        System.out.println("dgesdd on the six-LoRA sum: info " + info[0] + " on OpenBLAS kernel " + NativeMath.ensureReady().kernel());
        assertReproduces(real, sum);
        double top = fallback.s()[0];
        for (int j = 0; j < n; j++) {
            assertEquals(fallback.s()[j], real.s()[j], 1e-12 * top, "singular value " + j + " from " + (info[0] == 0 ? "dgesdd" : "the fallback"));
        }
    }

    private static void assertReproduces(Lapack.Svd svd, INDArray matrix) {
        int n = svd.n();
        double[] us = svd.u().clone();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                us[i * n + j] *= svd.s()[j];
            }
        }
        INDArray back = Blas.mmul(Matrices.of(us, n, n), Matrices.of(svd.vt(), n, n));
        double err = Matrices.relativeError(back, matrix);
        assertTrue(err < 1e-12, "U·S·Vᵀ reproduces the matrix: relative error " + err);
        for (int j = 1; j < n; j++) {
            assertTrue(svd.s()[j] <= svd.s()[j - 1], "singular values descending");
        }
    }
}
