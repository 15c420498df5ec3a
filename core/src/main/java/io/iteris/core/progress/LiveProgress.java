package io.iteris.core.progress;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * Progress of a long command: a live bar (with throughput and ETA) when the output is a terminal, plain
 * lines otherwise — one per notable event plus a status line at most every {@link #PLAIN_INTERVAL}, so CI
 * logs and log files stay readable. {@code ITERIS_PROGRESS=plain|bar} overrides the detection.
 */
public final class LiveProgress implements AutoCloseable {
    static final Duration PLAIN_INTERVAL = Duration.ofSeconds(10);

    private final String task;
    private final PrintStream out;
    private final ProgressBar bar;
    private final long startNanos = System.nanoTime();
    private long current;
    private long max;
    private String status = "";
    private long lastPlainNanos;
    private String lastPlain = "";

    private LiveProgress(String task, long max, PrintStream out, boolean interactive, String unit) {
        this.task = task;
        this.out = out;
        this.max = max;
        this.lastPlainNanos = startNanos;
        this.bar = interactive ? new ProgressBarBuilder().setTaskName(task).setInitialMax(max).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250).showSpeed().setUnit(" " + unit, 1).setMaxRenderedLength(120).build() : null;
    }

    /** A bar on a terminal, plain lines on {@code out} otherwise. */
    public static LiveProgress start(String task, long max, String unit, PrintStream out) {
        return new LiveProgress(task, max, out, interactive(), unit);
    }

    /** Plain lines only, whatever the output is. */
    public static LiveProgress plain(String task, long max, PrintStream out) {
        return new LiveProgress(task, max, out, false, "steps");
    }

    static boolean interactive() {
        String forced = System.getenv("ITERIS_PROGRESS");
        if (forced != null) {
            return forced.equalsIgnoreCase("bar");
        }
        return System.console() != null && !"dumb".equals(System.getenv("TERM")) && System.getenv("CI") == null;
    }

    /** Moves to {@code current} of {@code max} steps, with a short status (e.g. "iteration 2/5, units 3/20"). */
    public synchronized void update(long current, long max, String status) {
        this.current = Math.min(current, max);
        this.max = max;
        this.status = status;
        if (bar != null) {
            bar.maxHint(max);
            bar.stepTo(this.current);
            bar.setExtraMessage(" " + status);
            return;
        }
        long now = System.nanoTime();
        String line = statusLine(now);
        if (now - lastPlainNanos >= PLAIN_INTERVAL.toNanos() && !status.equals(lastPlain)) {
            out.println(line);
            lastPlainNanos = now;
            lastPlain = status;
        }
    }

    /** A line worth keeping (an iteration completed, a node lost): printed above the bar, or as is. */
    public synchronized void event(String line) {
        if (bar != null) {
            out.print("\r\033[K");
        }
        out.println("  " + line);
        if (bar != null) {
            bar.refresh();
        }
    }

    String statusLine(long now) {
        double done = max == 0 ? 0 : current / (double) max;
        double elapsed = (now - startNanos) / 1e9;
        String eta = done <= 0 ? "?" : clock(elapsed * (1 - done) / done);
        return String.format(Locale.ROOT, "  [%s] %3.0f%% %s, elapsed %s, ETA %s", task, 100 * done, status, clock(elapsed), eta);
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
