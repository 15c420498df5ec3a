package io.iteris.bench.perf;

import io.iteris.core.stats.GramStatistics;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;

/**
 * {@code bench gram}: one shard's per-iteration statistics for one input as a worker computes them after the
 * first iteration (C = XᵀX̃ by dgemm and H = X̃ᵀX̃ by dsyrk; G only when a solver must be refilled), against one
 * bare {@code cblas_dgemm} of the same [rows×in]ᵀ[rows×in] shape on native buffers, in the same run. The
 * textbook three general products cost 3 dgemms; these cost 1.5. Features arrive in the runner's precision:
 * float32 features are timed too (they pay a cast to float64, where statistics are accumulated). The bare dgemm's own
 * rate is reported in GFLOP/s, and beside it numpy's on the same shape (its own OpenBLAS, in a child process), so that
 * a slow BLAS cannot hide behind a ratio against itself.
 */
final class GramBench {
    private GramBench() {
    }

    static ResultTable run(int[] dims, int rows, PrintStream log) {
        ResultTable t = new ResultTable("in", "rows", "features", "ours_ms", "dgemm_ms", "ratio", "dgemm_gflops", "numpy_ms", "dgemm_vs_numpy");
        Nd4j.getRandom().setSeed(11);
        for (int in : dims) {
            java.util.Optional<NumpyReference.Timing> numpy = java.util.Optional.empty();
            for (DataType dt : new DataType[]{DataType.DOUBLE, DataType.FLOAT}) {
                INDArray x = Nd4j.randn(DataType.DOUBLE, rows, in).castTo(dt);
                INDArray xt = x.add(Nd4j.randn(DataType.DOUBLE, rows, in).castTo(dt).muli(0.1));
                double flops = 2.0 * rows * (double) in * in;
                int reps = Measure.repsFor(1.5 * flops / 20e9 * 1e3);
                double ours = Measure.medianMillis(1, reps, () -> GramStatistics.of(x, xt, false));
                double reference = bareGemm(x.castTo(DataType.DOUBLE), xt.castTo(DataType.DOUBLE), rows, in, reps);
                double gflops = flops / reference / 1e6;
                if (dt == DataType.DOUBLE) {
                    numpy = NumpyReference.gemm(rows, in, reps);
                    numpy.ifPresent(n -> log.println("  reference: " + n.blas()));
                }
                double numpyMs = numpy.map(NumpyReference.Timing::millis).orElse(Double.NaN);
                t.add(in, rows, dt.name().toLowerCase(), ours, reference, ours / reference, gflops, numpyMs, reference / numpyMs);
                log.printf("  in %d, %d rows, %s features: C and H %.1f ms, one bare dgemm %.1f ms (ratio %.2f), %.1f GFLOP/s; numpy %s%n",
                        in, rows, dt.name().toLowerCase(), ours, reference, ours / reference, gflops,
                        numpy.map(n -> String.format("%.1f ms (ours %.2f× numpy's)", n.millis(), reference / n.millis())).orElse("not found"));
            }
        }
        return t;
    }

    /** One dgemm C = AᵀB (row-major) straight on native memory: the machine's rate for this shape. */
    private static double bareGemm(INDArray x, INDArray xt, int rows, int in, int reps) {
        try (DoublePointer a = new DoublePointer(x.dup('c').data().asDouble());
             DoublePointer b = new DoublePointer(xt.dup('c').data().asDouble());
             DoublePointer c = new DoublePointer((long) in * in)) {
            return Measure.medianMillis(1, reps, () -> openblas.cblas_dgemm(openblas.CblasRowMajor, openblas.CblasTrans,
                    openblas.CblasNoTrans, in, in, rows, 1.0, a, in, b, in, 0.0, c, in));
        }
    }
}
