package io.iteris.bench.perf;

import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Lapack;
import io.iteris.core.merge.IterisParameters;
import io.iteris.core.merge.IterisSolver;
import io.iteris.core.merge.LayerMergeInput;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.TaskLayer;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bench solve}: one layer's IterIS solve (out = in) from N tasks' statistics, the tasks' updates rank-r
 * LoRAs, against a bare LAPACK {@code dpotrf} of the layer's in×in system, in the same run. The solve timed is a
 * later one (the adaptive coefficients handed back from the first, as the engines do); the first solve (which
 * computes them) and the dense textbook solve of the same inputs are reported beside it, and so are dpotrf's own rate
 * (in³/3 FLOPs) and numpy's Cholesky of the same size, the machine's rate from outside iteris.
 */
final class SolveBench {
    private SolveBench() {
    }

    static ResultTable run(int[] dims, int[] taskCounts, int rank, PrintStream log) {
        ResultTable csv = new ResultTable("in", "out", "tasks", "rank", "median_ms", "reference_ms", "ratio", "dpotrf_gflops", "numpy_ms");
        ResultTable detail = new ResultTable("in", "tasks", "rank", "later solve (ms)", "bare dpotrf (ms)", "ratio", "dpotrf GFLOP/s",
                "numpy cholesky (ms)", "first solve (ms)", "dense textbook solve (ms)", "dense ÷ later");
        IterisParameters p = new IterisParameters(2, 1e-4, 1e-4, 0, false, true, 0);
        Nd4j.getRandom().setSeed(7);
        for (int in : dims) {
            java.util.Optional<NumpyReference.Timing> numpy = NumpyReference.cholesky(in, Measure.repsFor(in * (double) in * in / 3 / 20e9 * 1e3));
            numpy.ifPresent(t -> log.println("  reference: " + t.blas()));
            double numpyMs = numpy.map(NumpyReference.Timing::millis).orElse(Double.NaN);
            for (int n : taskCounts) {
                LayerMergeInput first = layer(in, n, rank);
                LayerMergeResult r0 = IterisSolver.solve(first, p);
                LayerMergeInput later = new LayerMergeInput(first.layer(), first.w0(), first.tasks(), 1, r0.diagnostics().get("coef"));
                double estimate = 4.0 * (double) in * in * in / 20e9 * 1e3;
                int reps = Measure.repsFor(estimate);
                double ours = Measure.medianMillis(1, reps, () -> IterisSolver.solve(later, p));
                double firstMs = Measure.medianMillis(0, Math.min(reps, 3), () -> IterisSolver.solve(first, p));
                List<TaskLayer> dense = first.tasks().stream().map(t -> new TaskLayer(t.task(), t.delta(), t.manualCoef(), t.stats())).toList();
                LayerMergeInput denseLater = new LayerMergeInput(first.layer(), first.w0(), dense, 1, r0.diagnostics().get("coef"));
                double denseMs = Measure.medianMillis(0, Math.min(reps, 3), () -> IterisSolver.solveDense(denseLater, p));
                double reference = bareCholesky(first.tasks().get(0).stats().h(), in, reps);
                double gflops = in * (double) in * in / 3 / reference / 1e6;
                csv.add(in, in, n, rank, ours, reference, ours / reference, gflops, numpyMs);
                detail.add(in, n, rank, ours, reference, ours / reference, gflops, numpyMs, firstMs, denseMs, denseMs / ours);
                log.printf("  in %d, %d tasks, rank %d: %.1f ms (dpotrf %.1f ms, %.1f GFLOP/s, ratio %.2f; numpy's cholesky %.1f ms; first solve %.1f ms, dense %.1f ms)%n",
                        in, n, rank, ours, reference, gflops, ours / reference, numpyMs, firstMs, denseMs);
            }
        }
        log.println();
        log.print(detail.markdown());
        return csv;
    }

    /** Median time of a bare dpotrf of an SPD in×in matrix (its copy back to the original between runs not timed). */
    private static double bareCholesky(INDArray h, int in, int reps) {
        INDArray spd = Blas.dense(h).dup('c');
        Blas.addToDiagonal(spd, 1e-3);
        INDArray work = spd.dup('c');
        double[] ms = new double[reps];
        for (int i = -1; i < reps; i++) {
            work.assign(spd);
            long t0 = System.nanoTime();
            if (Lapack.choleskyInPlace(work) != 0) {
                throw new IllegalStateException("the bench system is not positive definite");
            }
            if (i >= 0) {
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        return Measure.median(ms);
    }

    /** A layer with out = in, N tasks with rank-r LoRA updates and well-conditioned statistics from 2·in rows. */
    static LayerMergeInput layer(int in, int n, int rank) {
        INDArray w0 = Nd4j.randn(DataType.DOUBLE, in, in).muli(1.0 / Math.sqrt(in));
        List<TaskLayer> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            INDArray x = Nd4j.randn(DataType.DOUBLE, 2L * in, in);
            INDArray xt = x.add(Nd4j.randn(DataType.DOUBLE, 2L * in, in).muli(0.1));
            LoraModule lora = new LoraModule("bench", Nd4j.randn(DataType.DOUBLE, rank, in).muli(0.01),
                    Nd4j.randn(DataType.DOUBLE, in, rank).muli(0.01), 2.0);
            tasks.add(TaskLayer.ofLora("task" + i, lora, 1.0, GramStatistics.of(x, xt)));
        }
        return new LayerMergeInput("bench", w0, tasks, 1);
    }
}
