package io.iteris.deploy;

import io.iteris.core.engine.IterationReport;
import io.iteris.core.progress.LiveProgress;
import io.iteris.protocol.JobProgress;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Shows a merge job's progress. On the actor engine one step is a work unit or a layer solve, so the bar
 * moves within an iteration; on the local engine one step is a whole solve. Notable events (iterations,
 * reassignments, resumption, failure) become lines of their own.
 */
public final class JobProgressView implements AutoCloseable {
    private final LiveProgress progress;
    private String lastEvent = "";

    private JobProgressView(LiveProgress progress) {
        this.progress = progress;
    }

    public static JobProgressView start(String task, int solves, PrintStream out) {
        return new JobProgressView(LiveProgress.start(task, solves, "steps", out));
    }

    /** From the supervisor: the job's state after each step. */
    public void onProgress(JobProgress p) {
        String m = p.getMessage();
        boolean notable = (m.startsWith("iteration") || m.startsWith("job") || m.startsWith("failed") || m.contains("reassigned"))
                && !m.equals("job already accepted") && !m.equals("watching");
        if (notable && !m.equals(lastEvent)) {
            progress.event(m);
            lastEvent = m;
        }
        if (p.getIterations() == 0) {
            return;
        }
        long perIteration = (long) p.getUnits() + p.getLayers();
        long max = perIteration * p.getIterations();
        long current = p.getCompleted() ? max : perIteration * (p.getIteration() - 1) + p.getUnitsDone() + p.getLayersSolved();
        progress.update(current, max, String.format(Locale.ROOT, "iteration %d/%d, units %d/%d, layers %d/%d",
                p.getIteration(), p.getIterations(), p.getUnitsDone(), p.getUnits(), p.getLayersSolved(), p.getLayers()));
    }

    /** From the local engine: one solve of every layer. */
    public void onIteration(IterationReport report, int solves) {
        String change = report.relativeChange().isEmpty() ? ""
                : String.format(Locale.ROOT, ", max relative change of dW %.3e", report.maxRelativeChange());
        progress.event(String.format(Locale.ROOT, "solve %d/%d: %d layers%s", report.iteration() + 1, solves, report.layers().size(), change));
        progress.update(report.iteration() + 1, solves, String.format(Locale.ROOT, "solve %d/%d", report.iteration() + 1, solves));
    }

    @Override
    public void close() {
        progress.close();
    }
}
