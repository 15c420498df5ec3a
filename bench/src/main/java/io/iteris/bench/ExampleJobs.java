package io.iteris.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.iteris.core.config.ConfigPaths;
import io.iteris.core.config.MergeSettings;

import java.nio.file.Path;

/**
 * The shipped Fashion-MNIST merge as the chaos runs and benchmarks use it: the example's merge.conf with a
 * given calibration file, output, IterIS solves, and shards of 16 samples (so a job has many work units).
 */
public final class ExampleJobs {
    public static final int SHARD_SIZE = 16;

    private ExampleJobs() {
    }

    public static MergeSettings settings(Path example, Path calibration, Path out, int iterations) {
        Config c = ConfigPaths.resolveRelative(ConfigFactory.parseFile(example.resolve("merge.conf").toFile()), example.toAbsolutePath())
                .withValue("iteris.merge.calibration", ConfigValueFactory.fromAnyRef(calibration.toString()))
                .withValue("iteris.merge.out", ConfigValueFactory.fromAnyRef(out.toString()))
                .withValue("iteris.merge.overwrite", ConfigValueFactory.fromAnyRef(true))
                .withValue("iteris.merge.shard-size", ConfigValueFactory.fromAnyRef(SHARD_SIZE))
                .withValue("iteris.methods.iteris.iterations", ConfigValueFactory.fromAnyRef(iterations));
        return MergeSettings.from(c.withFallback(ConfigFactory.load()));
    }
}
