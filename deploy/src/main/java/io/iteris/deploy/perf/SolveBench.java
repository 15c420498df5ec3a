package io.iteris.deploy.perf;

import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.IterisParameters;
import io.iteris.core.merge.IterisSolver;
import io.iteris.core.merge.LayerMergeInput;
import io.iteris.core.merge.TaskLayer;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bench solve}: one layer's IterIS solve from N tasks' statistics (out = in), against a bare LAPACK
 * {@code dposv} of the same system (the floor), and against the work the closed form cannot skip (per task
 * the two out×in×in products, plus the dposv), all measured in the same run.
 */
final class SolveBench {
    private SolveBench() {
    }

    static ResultTable run(int[] dims, int[] taskCounts, PrintStream log) {
        ResultTable csv = new ResultTable("in", "out", "tasks", "median_ms", "reference_ms", "ratio");
        ResultTable detail = new ResultTable("in", "tasks", "iteris solve (ms)", "bare dposv (ms)", "ratio to dposv",
                "dposv + required GEMMs (ms)", "ratio to that floor");
        IterisParameters p = new IterisParameters(1, 1e-4, 1e-4, 0, false, true, 0);
        Nd4j.getRandom().setSeed(7);
        for (int in : dims) {
            for (int n : taskCounts) {
                LayerMergeInput layer = layer(in, n);
                double estimate = 2.0 * n * 2 * (double) in * in * in / 20e9 * 1e3; // ~20 GFLOP/s
                int reps = Measure.repsFor(estimate);
                double ours = Measure.medianMillis(1, reps, () -> IterisSolver.solve(layer, p));
                INDArray s = Matrices.addToDiagonal(layer.tasks().get(0).stats().h().dup(), 1e-3);
                double[] a = Matrices.toArray(s);
                double[] b = Matrices.toArray(layer.w0());
                double reference = Measure.medianMillis(1, reps, () -> Lapack.solveSpd(a.clone(), in, b.clone(), in));
                INDArray w = layer.w0();
                INDArray g = layer.tasks().get(0).stats().g();
                double gemms = Measure.medianMillis(1, reps, () -> w.mmul(g));
                double floor = reference + 2 * n * gemms;
                csv.add(in, in, n, ours, reference, ours / reference);
                detail.add(in, n, ours, reference, ours / reference, floor, ours / floor);
                log.printf("  in %d, %d tasks: %.1f ms (dposv %.1f ms, floor %.1f ms)%n", in, n, ours, reference, floor);
            }
        }
        log.println();
        log.print(detail.markdown());
        return csv;
    }

    /** A layer with out = in, N tasks with dense ΔW and well-conditioned statistics from 2·in rows. */
    static LayerMergeInput layer(int in, int n) {
        INDArray w0 = Nd4j.randn(DataType.DOUBLE, in, in).muli(1.0 / Math.sqrt(in));
        List<TaskLayer> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            INDArray x = Nd4j.randn(DataType.DOUBLE, 2L * in, in);
            INDArray xt = x.add(Nd4j.randn(DataType.DOUBLE, 2L * in, in).muli(0.1));
            tasks.add(new TaskLayer("task" + i, Nd4j.randn(DataType.DOUBLE, in, in).muli(0.01), 1.0, GramStatistics.of(x, xt)));
        }
        return new LayerMergeInput("bench", w0, tasks, 1);
    }
}
