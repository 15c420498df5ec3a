package io.iteris.deploy;

import io.iteris.protocol.JobProgress;

import java.io.PrintStream;

/** Prints a job's progress as plain lines: one per iteration step, not one per work unit. */
final class ProgressPrinter {
    private final PrintStream out;
    private String last = "";

    ProgressPrinter(PrintStream out) {
        this.out = out;
    }

    void onProgress(JobProgress p) {
        String m = p.getMessage();
        boolean worth = (m.startsWith("iteration") || m.startsWith("job") || m.startsWith("failed") || m.contains("reassigned"))
                && !m.equals("job already accepted");
        if (worth && !m.equals(last)) {
            out.println("  " + m);
            last = m;
        }
    }
}
