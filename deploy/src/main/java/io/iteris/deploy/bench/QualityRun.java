package io.iteris.deploy.bench;

import io.iteris.core.AtomicFiles;
import io.iteris.deploy.progress.LiveProgress;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/** Runs the quality benchmark end to end and writes every output into one directory. */
public final class QualityRun {
    private QualityRun() {
    }

    /** The image suite (examples/fashion) or the text suite (examples/text on all-MiniLM-L6-v2). */
    public static void run(String suiteName, Path example, Path minilm, Path out, int calibration, boolean quick, PrintStream log) {
        long t0 = System.nanoTime();
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + out, e);
        }
        log.printf("quality benchmark: %d calibration samples per task%s%n", calibration, quick ? " (quick run)" : "");
        BenchTasks suite = switch (suiteName) {
            case "image" -> new ImageSuite(example);
            case "text" -> new TextSuite(example, minilm, quick);
            default -> throw new IllegalArgumentException("unknown suite '" + suiteName + "'; available: image, text");
        };
        QualityBenchmark b = new QualityBenchmark(suite, calibration, quick, log);
        int n = b.taskCount();
        Map<Integer, double[]> iterations;
        Map<Integer, double[]> samples;
        try (LiveProgress progress = LiveProgress.start("bench quality", 5, "phases", log)) {
            log.println("choosing hyper-parameters on the validation split:");
            phase(progress, 0, "tuning", b);
            b.tune();
            phase(progress, 1, "all tasks", b);
            b.allTasks();
            phase(progress, 2, "pairs and triples", b);
            b.subsets();
            phase(progress, 3, "solves sweep", b);
            iterations = b.iterationSweep();
            phase(progress, 4, "calibration sweep", b);
            samples = b.calibrationSweep();
            phase(progress, 5, "done", b);
        }
        QualityReport r = new QualityReport(b);
        r.writeCsv(out.resolve("quality.csv"));
        r.chart(out.resolve("iterations.png"), "IterIS: test accuracy after each solve (" + n + " tasks)", "solves", iterations, false);
        r.chart(out.resolve("calibration.png"), "IterIS: test accuracy by calibration samples per task (" + n + " tasks)",
                "calibration samples per task", samples, true);
        String five = r.allTaskTable();
        String subsets = r.subsetTable();
        String iter = r.sweepTable("solves", iterations);
        String cal = r.sweepTable("samples", samples);
        log.println();
        log.println("All " + n + " tasks merged (test accuracy):");
        log.print(five);
        log.println();
        log.println("Merges of fewer tasks:");
        log.print(subsets);
        double seconds = (System.nanoTime() - t0) / 1e9;
        AtomicFiles.writeString(out.resolve("report.md"), report(suite, n, r, five, subsets, iter, cal, calibration, quick, seconds));
        log.printf(Locale.ROOT, "%nwrote quality.csv, iterations.png, calibration.png and report.md to %s (%.0f s)%n", out, seconds);
    }

    private static void phase(LiveProgress progress, int done, String name, QualityBenchmark b) {
        progress.update(done, 5, name + ", " + b.merges() + " merges so far");
    }

    private static String report(BenchTasks suite, int n, QualityReport r, String all, String subsets, String iter, String cal,
                                 int calibration, boolean quick, double seconds) {
        return "# " + suite.title() + "\n\n"
                + (quick ? "**Quick run: small grids and few merges; not the numbers to quote.**\n\n" : "")
                + suite.description(calibration) + "; accuracies are on the test split, which "
                + "nothing is tuned on. Normalised accuracy = merged accuracy ÷ the task's own LoRA accuracy.\n\n"
                + "## Hyper-parameters, chosen on the validation split (all " + n + " tasks merged)\n\n" + r.tuningTable()
                + "\n## All " + n + " tasks merged\n\n" + all
                + "\n## Merges of fewer tasks (" + (n > 3 ? "every pair and triple" : "every pair") + ")\n\n" + subsets
                + "\n## IterIS per solve\n\n![accuracy per solve](iterations.png)\n\n" + iter
                + "\n## IterIS by calibration size\n\n![accuracy by calibration size](calibration.png)\n\n" + cal
                + String.format(Locale.ROOT, "%nEvery row is in `quality.csv`. Run time %.0f s.%n", seconds);
    }
}
