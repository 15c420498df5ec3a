package io.iteris.deploy.perf;

import io.iteris.core.stats.GramStatistics;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;

/**
 * {@code bench gram}: the statistics a worker computes per shard (G = XᵀX, C = XᵀX̃, H = X̃ᵀX̃ from
 * [rows×in] features) in GFLOP/s, against three bare {@code cblas_dgemm} calls of the same shapes on
 * native buffers, in the same run. Features arrive in the runner's precision: float32 inputs are also timed.
 */
final class GramBench {
    private GramBench() {
    }

    static ResultTable run(int[] dims, int rows, PrintStream log) {
        ResultTable t = new ResultTable("in", "rows", "dtype", "median_ms", "gflops", "reference_ms", "reference_gflops", "ratio");
        Nd4j.getRandom().setSeed(11);
        for (int in : dims) {
            for (DataType dt : new DataType[]{DataType.DOUBLE, DataType.FLOAT}) {
                INDArray x = Nd4j.randn(DataType.DOUBLE, rows, in).castTo(dt);
                INDArray xt = x.add(Nd4j.randn(DataType.DOUBLE, rows, in).castTo(dt).muli(0.1));
                double flops = 3 * 2.0 * rows * (double) in * in;
                int reps = Measure.repsFor(flops / 20e9 * 1e3);
                double ours = Measure.medianMillis(1, reps, () -> GramStatistics.of(x, xt));
                double reference = bareGemms(x.castTo(DataType.DOUBLE), xt.castTo(DataType.DOUBLE), rows, in, reps);
                t.add(in, rows, dt.name().toLowerCase(), ours, flops / ours / 1e6, reference, flops / reference / 1e6, ours / reference);
                log.printf("  in %d, %d rows, %s: %.1f ms = %.1f GFLOP/s (bare dgemm %.1f GFLOP/s)%n", in, rows, dt, ours,
                        flops / ours / 1e6, flops / reference / 1e6);
            }
        }
        return t;
    }

    /** Three dgemms C = AᵀB (row-major) straight on native memory: the machine's rate for this shape. */
    private static double bareGemms(INDArray x, INDArray xt, int rows, int in, int reps) {
        try (DoublePointer a = new DoublePointer(x.dup('c').data().asDouble());
             DoublePointer b = new DoublePointer(xt.dup('c').data().asDouble());
             DoublePointer c = new DoublePointer((long) in * in)) {
            return Measure.medianMillis(1, reps, () -> {
                gemm(a, a, c, rows, in);
                gemm(a, b, c, rows, in);
                gemm(b, b, c, rows, in);
            });
        }
    }

    private static void gemm(DoublePointer a, DoublePointer b, DoublePointer c, int rows, int in) {
        openblas.cblas_dgemm(openblas.CblasRowMajor, openblas.CblasTrans, openblas.CblasNoTrans, in, in, rows, 1.0, a, in, b, in, 0.0, c, in);
    }
}
