package io.iteris.bench.quality;

import io.iteris.core.AtomicFiles;
import io.iteris.core.progress.LiveProgress;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Runs the quality benchmark end to end and writes every output into one directory. */
public final class QualityRun {
    private QualityRun() {
    }

    /**
     * What to run: the image suite (examples/fashion) or the text suite (examples/text on all-MiniLM-L6-v2, at
     * {@code minilm}), calibration samples per task, shifted copies per image (image suite), the ratios α1/α2 IterIS's
     * grid tries with each α2 (1: equal ridges, the paper's setting), the rival methods (empty: all), a quick run, and
     * the calibration draws the merge of every task is repeated on (0: the suite's default).
     */
    public record Options(String suite, Path example, Path minilm, Path out, int calibration, int augment, double[] ridgeRatios,
                          List<String> methods, boolean quick, int draws) {
    }

    public static void run(Options o, PrintStream log) {
        String suiteName = o.suite();
        Path example = o.example();
        Path out = o.out();
        int calibration = o.calibration();
        int augment = o.augment();
        boolean quick = o.quick();
        long t0 = System.nanoTime();
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + out, e);
        }
        log.printf("quality benchmark: %d calibration samples per task%s%s%n", calibration,
                augment > 0 ? " and " + augment + " shifted copies of each" : "", quick ? " (quick run)" : "");
        BenchTasks suite = switch (suiteName) {
            case "image" -> new ImageSuite(example, augment);
            case "text" -> new TextSuite(example, o.minilm(), quick);
            default -> throw new IllegalArgumentException("unknown suite '" + suiteName + "'; available: image, text");
        };
        QualityBenchmark b = new QualityBenchmark(suite, calibration, o.ridgeRatios(), o.methods(), quick, o.draws(), log);
        int n = b.taskCount();
        Map<Integer, double[]> iterations;
        Map<Integer, double[]> samples;
        // where the run time goes, for the report: each phase's seconds, the set-up's included in the first
        Map<String, Double> phases = new java.util.LinkedHashMap<>();
        long[] mark = {t0};
        try (LiveProgress progress = LiveProgress.start("bench quality", 5, "phases", log)) {
            log.println("choosing hyper-parameters on the validation split:");
            phase(progress, 0, "tuning", b);
            b.tune();
            lap(phases, "set-up and tuning", mark);
            phase(progress, 1, "all tasks", b);
            b.allTasks();
            lap(phases, "all tasks", mark);
            phase(progress, 2, "pairs and triples", b);
            b.subsets();
            lap(phases, "pairs and triples", mark);
            phase(progress, 3, "solves sweep", b);
            iterations = b.iterationSweep();
            lap(phases, "solves sweep", mark);
            phase(progress, 4, "calibration sweep", b);
            samples = b.calibrationSweep();
            lap(phases, "calibration sweep", mark);
            phase(progress, 5, "done", b);
        }
        QualityReport r = new QualityReport(b);
        r.writeCsv(out.resolve("quality.csv"));
        AtomicFiles.writeString(out.resolve("tuned.conf"), r.tunedConf());
        r.chart(out.resolve("iterations.png"), "IterIS: test accuracy after each solve (" + n + " tasks)", "solves", iterations, false);
        r.chart(out.resolve("calibration.png"), "IterIS: test accuracy by calibration samples per task (" + n + " tasks)",
                "calibration samples per task", samples, true);
        String five = r.allTaskTable();
        String separation = r.separationTable();
        String labelFree = r.labelFreeTable();
        String refined = r.refinedTable();
        String interference = r.interferenceTable();
        String subsets = r.subsetTable();
        String iter = r.sweepTable("solves", iterations);
        String cal = r.sweepTable("samples", samples);
        log.println();
        log.println("All " + n + " tasks merged (test accuracy):");
        log.print(five);
        log.println();
        log.print(separation);
        log.println();
        log.println("Merges of fewer tasks:");
        log.print(subsets);
        double seconds = (System.nanoTime() - t0) / 1e9;
        StringBuilder split = new StringBuilder();
        phases.forEach((name, sec) -> split.append(split.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s %.0f s", name, sec)));
        split.append(String.format(Locale.ROOT, "; %d merges run, the rest served from the merge cache", b.merges()));
        AtomicFiles.writeString(out.resolve("report.md"), report(b, n, r, five + "\n" + separation + "\n## IterIS without labels\n\n" + labelFree
                        + (refined.isEmpty() ? "" : "\n## IterIS with the feature-matching refinement (image suite only)\n\n" + refined),
                subsets + "\n### Pairwise interference\n\n" + interference, iter, cal, calibration, quick, seconds, split.toString()));
        log.printf(Locale.ROOT, "%nwrote quality.csv, tuned.conf, iterations.png, calibration.png and report.md to %s (%.0f s)%n", out, seconds);
    }

    private static void lap(Map<String, Double> phases, String name, long[] mark) {
        long now = System.nanoTime();
        phases.put(name, (now - mark[0]) / 1e9);
        mark[0] = now;
    }

    private static void phase(LiveProgress progress, int done, String name, QualityBenchmark b) {
        progress.update(done, 5, name + ", " + b.merges() + " merges so far");
    }

    private static String report(QualityBenchmark b, int n, QualityReport r, String all, String subsets, String iter, String cal,
                                 int calibration, boolean quick, double seconds, String split) {
        BenchTasks suite = b.suite();
        return "# " + suite.title() + "\n\n"
                + (quick ? "**Quick run: small grids and few merges; not the numbers to quote.**\n\n" : "")
                + suite.description(calibration) + "; accuracies are on the test split, which "
                + "nothing is tuned on, of the published adapter (each merged update cut to the summed input rank, as `iteris merge` "
                + "writes it). Normalised accuracy = merged accuracy ÷ the task's own LoRA accuracy. The merge of every task is repeated on "
                + b.draws() + " disjoint calibration draws (methods that read no data give one result)"
                + (suite.allTestItems() > 0 ? ", each read on the first " + suite.allTestItems() + " test items per task" : "")
                + "; ± is one standard error, "
                + "from the draws and the test items together, and two methods count as separated when their difference exceeds two of its "
                + "standard errors. Merges of fewer tasks use draw 0" + (suite.subsetTestItems() > 0 ? " and the first "
                + suite.subsetTestItems() + " test items per task" : "") + ".\n\n"
                + "## Hyper-parameters, chosen on the validation split (all " + n + " tasks merged)\n\n"
                + (suite.screenItems() > 0 ? "Every candidate (each solve of an IterIS run is one) was screened on the first " + suite.screenItems()
                + " validation items per task; the best eighth of each search, at least three, were scored on the first "
                + suite.validationItems() + ", and the best of those is chosen.\n\n" : suite.validationItems() > 0
                ? "Scored on the first " + suite.validationItems() + " validation items per task.\n\n" : "") + r.tuningTable()
                + "\n## All " + n + " tasks merged\n\n" + all
                + "\n## Merges of fewer tasks (" + (suite.triples() && n > 3 ? "every pair and triple" : "every pair") + ")\n\n" + subsets
                + "\n## IterIS per solve\n\n![accuracy per solve](iterations.png)\n\n" + iter
                + "\n## IterIS by calibration size\n\n![accuracy by calibration size](calibration.png)\n\n" + cal
                + String.format(Locale.ROOT, "%nEvery row is in `quality.csv`. Run time %.0f s: %s.%n", seconds, split);
    }
}
