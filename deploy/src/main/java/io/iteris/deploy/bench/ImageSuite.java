package io.iteris.deploy.bench;

import io.iteris.core.data.ImageSet;
import io.iteris.core.data.ImageTasks;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.TanhMlpRunner;
import io.iteris.core.train.Accuracy;
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

    ImageSuite(Path example) {
        super(BaseModel.open(example.resolve("base")),
                adapters(example, ImageTasks.LORA_TASKS.stream().map(ImageTasks.Task::name).toList()));
        runner = new TanhMlpRunner(MlpSpec.read(example.resolve("base/model.json")), base(), DataType.DOUBLE);
        ImageTasks data = ImageTasks.load(example.resolve("data"));
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

    @Override
    INDArray calibration(String task, int samples) {
        INDArray x = features.get(task)[0].get(NDArrayIndex.interval(0, samples), NDArrayIndex.all());
        return x.reshape('c', samples, 1, x.size(1));
    }

    @Override
    double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split) {
        String name = taskNames().get(task);
        ImageTasks.Split s = split == Split.VALIDATION ? ImageTasks.Split.VALIDATION : ImageTasks.Split.TEST;
        return Accuracy.of(runner, in.mergedWeights(deltas), features.get(name)[s.ordinal() - 1], labels.get(name + "/" + s));
    }

    @Override
    int[] calibrationSizes(boolean quick) {
        return quick ? new int[]{8, 32} : new int[]{8, 16, 32, 64, 128};
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
                + " unlabelled calibration images per task (IterIS and RegMean)";
    }
}
