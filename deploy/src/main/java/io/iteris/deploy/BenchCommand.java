package io.iteris.deploy;

import io.iteris.deploy.bench.QualityRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code iteris bench quality}: how much of each task's skill every merge method keeps, on real images. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks. quality: merge quality on real data.")
public final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "quality")
    String which;

    @Option(names = "--out", required = true, description = "where tables, charts, quality.csv and report.md go")
    Path out;

    @Option(names = "--example", description = "models and data (default: examples/fashion in the iteris home)")
    Path example;

    @Option(names = "--calibration", defaultValue = "32", description = "calibration samples per task")
    int calibration;

    @Option(names = "--quick", description = "small grids and few merges: a smoke run of the whole pipeline")
    boolean quick;

    @Override
    public Integer call() {
        if (!which.equals("quality")) {
            throw new IllegalArgumentException("unknown benchmark '" + which + "'; available: quality");
        }
        System.setProperty("java.awt.headless", "true");
        Path dir = example != null ? example : Bench.home().resolve("examples/fashion");
        QualityRun.run(dir, out, calibration, quick, System.out);
        return 0;
    }
}
