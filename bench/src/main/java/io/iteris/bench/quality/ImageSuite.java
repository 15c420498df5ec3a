package io.iteris.bench.quality;

import io.iteris.bench.data.ImageSet;
import io.iteris.bench.data.ImageTasks;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.TanhMlpRunner;
import io.iteris.bench.train.Accuracy;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The shipped image tasks, models and splits: five rank-8 LoRAs of a Fashion-MNIST MLP, calibration from
 * each task's calibration images, accuracy of the MLP's own output.
 */
final class ImageSuite extends BenchTasks {
    private final ModelRunner runner;
    private final Map<String, INDArray[]> features = new HashMap<>();
    private final Map<String, int[]> labels = new HashMap<>();

    private final ImageTasks data;
    private final int augment;

    /** @param augment shifted copies added per calibration image (0: none) */
    ImageSuite(Path example, int augment) {
        super(BaseModel.open(example.resolve("base")),
                adapters(example, ImageTasks.LORA_TASKS.stream().map(ImageTasks.Task::name).toList()));
        runner = new TanhMlpRunner(MlpSpec.read(example.resolve("base/model.json")), base(), DataType.DOUBLE);
        this.augment = augment;
        data = ImageTasks.load(example.resolve("data"));
        for (ImageTasks.Task t : ImageTasks.LORA_TASKS) {
            for (ImageTasks.Split s : List.of(ImageTasks.Split.CALIBRATION, ImageTasks.Split.VALIDATION, ImageTasks.Split.TEST)) {
                ImageSet set = data.split(t, s);
                features.computeIfAbsent(t.name(), k -> new INDArray[3])[s.ordinal() - 1] = set.features();
                labels.put(t.name() + "/" + s, set.labels());
            }
        }
    }

    @Override
    ModelRunner runner() {
        return runner;
    }

    /** The MLP's tanh and its gradients are at hand. */
    @Override
    FeatureRefinement refinement() {
        return new FeatureRefinement(runner, base());
    }

    @Override
    INDArray calibration(String task, int from, int count) {
        INDArray x = augment == 0 ? features.get(task)[0].get(NDArrayIndex.interval(from, from + count), NDArrayIndex.all())
                : data.augmentedCalibration(ImageTasks.LORA_TASKS.stream().filter(t -> t.name().equals(task)).findFirst().orElseThrow(),
                from, count, augment, 2, from).features();
        return x.reshape('c', x.size(0), 1, x.size(1));
    }

    @Override
    int calibrationPool() {
        return (int) features.get(taskNames().get(0))[0].size(0);
    }

    @Override
    int[] predictions(MergeInputs in, Map<String, INDArray> deltas, int task, int from, int count) {
        INDArray x = features.get(taskNames().get(task))[0].get(NDArrayIndex.interval(from, from + count), NDArrayIndex.all());
        return Accuracy.predictions(runner, in.mergedWeights(deltas), x.dup('c'));
    }

    @Override
    double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split, int limit) {
        String name = taskNames().get(task);
        ImageTasks.Split s = split == Split.VALIDATION ? ImageTasks.Split.VALIDATION : ImageTasks.Split.TEST;
        INDArray x = features.get(name)[s.ordinal() - 1];
        int[] y = labels.get(name + "/" + s);
        if (limit > 0 && limit < y.length) {
            x = x.get(NDArrayIndex.interval(0, limit), NDArrayIndex.all()).dup('c');
            y = java.util.Arrays.copyOf(y, limit);
        }
        return Accuracy.of(runner, in.mergedWeights(deltas), x, y);
    }

    @Override
    int size(int task, Split split, int limit) {
        int n = labels.get(taskNames().get(task) + "/" + (split == Split.VALIDATION ? ImageTasks.Split.VALIDATION : ImageTasks.Split.TEST)).length;
        return limit > 0 ? Math.min(limit, n) : n;
    }

    @Override
    int draws(boolean quick) {
        return quick ? 2 : 5;
    }

    @Override
    double[] iterisAlphas(boolean quick) {
        return quick ? new double[]{1e-4} : new double[]{1e-6, 1e-5, 1e-4, 1e-3, 1e-2};
    }

    @Override
    int maxSolves(boolean quick) {
        return quick ? 3 : 10;
    }

    @Override
    int validationItems() {
        return 0;
    }

    @Override
    int subsetTestItems() {
        return 0;
    }

    @Override
    boolean triples() {
        return true;
    }

    @Override
    int[] calibrationSizes(boolean quick) {
        return quick ? new int[]{8, 32} : new int[]{8, 16, 32, 64, 128};
    }

    @Override
    String suiteName() {
        return "image";
    }

    @Override
    String title() {
        return "Merge quality on real images";
    }

    @Override
    String description(int calibration) {
        return "A 784-256-256-10 tanh MLP pretrained on upright Fashion-MNIST, and five rank-8 LoRAs (every linear layer, "
                + "base frozen) trained by `bin/iteris train-demo`: Fashion-MNIST rotated 90°, rotated 180°, with a fixed pixel "
                + "permutation, with inverted intensities, and MNIST digits. Each merge uses " + calibration
                + " unlabelled calibration images per task (IterIS and RegMean)"
                + (augment > 0 ? ", each with " + augment + " copies shifted by up to 2 pixels (a label-free augmentation)" : "");
    }
}
