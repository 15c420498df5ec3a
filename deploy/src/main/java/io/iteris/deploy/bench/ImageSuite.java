package io.iteris.deploy.bench;

import io.iteris.core.data.ImageSet;
import io.iteris.core.data.ImageTasks;
import io.iteris.core.engine.LocalMergeEngine;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.NamedAdapter;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.TanhMlpRunner;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.train.Accuracy;
import io.iteris.core.train.FashionLoras;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The shipped image tasks, models and splits, with what the benchmark does to them: merge a subset of the
 * task LoRAs with a method and a calibration size, and measure accuracy on a split.
 */
final class ImageSuite implements BenchTasks {
    final List<ImageTasks.Task> tasks = ImageTasks.LORA_TASKS;
    private final BaseModel base;
    private final ModelRunner runner;
    private final List<NamedAdapter> adapters = new ArrayList<>();
    private final Map<String, INDArray[]> features = new HashMap<>();
    private final Map<String, int[]> labels = new HashMap<>();
    private final Map<Integer, MergeInputs> inputs = new HashMap<>();

    ImageSuite(Path example) {
        base = BaseModel.open(example.resolve("base"));
        runner = new TanhMlpRunner(MlpSpec.read(example.resolve("base/model.json")), base, DataType.DOUBLE);
        ImageTasks data = ImageTasks.load(example.resolve("data"));
        for (ImageTasks.Task t : tasks) {
            adapters.add(new NamedAdapter(t.name(), PeftAdapter.load(example.resolve("adapters").resolve(t.name())), 1.0));
            for (ImageTasks.Split s : List.of(ImageTasks.Split.CALIBRATION, ImageTasks.Split.VALIDATION, ImageTasks.Split.TEST)) {
                ImageSet set = data.split(t, s);
                features.computeIfAbsent(t.name(), k -> new INDArray[3])[s.ordinal() - 1] = set.features();
                labels.put(t.name() + "/" + s, set.labels());
            }
        }
    }

    @Override
    public List<String> taskNames() {
        return tasks.stream().map(ImageTasks.Task::name).toList();
    }

    @Override
    public MergeInputs inputs(int mask) {
        return inputs.computeIfAbsent(mask, m -> {
            List<NamedAdapter> chosen = new ArrayList<>();
            for (int i = 0; i < adapters.size(); i++) {
                if ((m & (1 << i)) != 0) {
                    chosen.add(adapters.get(i));
                }
            }
            return MergeInputs.prepare(base, chosen);
        });
    }

    private int merges;

    @Override
    public int merges() {
        return merges;
    }

    @Override
    public int[] calibrationSizes(boolean quick) {
        return quick ? new int[]{8, 32} : new int[]{8, 16, 32, 64, 128};
    }

    @Override
    public String title() {
        return "Merge quality on real images";
    }

    @Override
    public String description(int calibration) {
        return "A 784-256-256-10 tanh MLP pretrained on upright Fashion-MNIST, and five rank-8 LoRAs (every linear layer, "
                + "base frozen) trained by `bin/iteris train-demo`: Fashion-MNIST rotated 90°, rotated 180°, with a fixed pixel "
                + "permutation, with inverted intensities, and MNIST digits. Each merge uses " + calibration
                + " unlabelled calibration images per task (IterIS and RegMean)";
    }

    private static ImageTasks.Split split(Split s) {
        return s == Split.VALIDATION ? ImageTasks.Split.VALIDATION : ImageTasks.Split.TEST;
    }

    @Override
    public Map<String, INDArray> merge(MergeMethod method, int mask, int samples, MergeEngine.Listener listener) {
        merges++;
        MergeInputs in = inputs(mask);
        List<INDArray> calibration = new ArrayList<>();
        for (NamedAdapter a : in.adapters()) {
            INDArray pool = features.get(a.name())[0];
            INDArray x = pool.get(NDArrayIndex.interval(0, samples), NDArrayIndex.all());
            calibration.add(x.reshape('c', samples, 1, x.size(1)));
        }
        return new LocalMergeEngine(in, method, runner, calibration, 0).run(listener).deltas();
    }

    @Override
    public double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split) {
        String name = tasks.get(task).name();
        ImageTasks.Split s = split(split);
        return Accuracy.of(runner, in.mergedWeights(deltas), features.get(name)[s.ordinal() - 1], labels.get(name + "/" + s));
    }

    @Override
    public double baseAccuracy(int task, Split split) {
        MergeInputs in = inputs(BenchTasks.all(tasks.size()));
        Map<String, INDArray> w0 = new HashMap<>();
        in.layers().forEach(l -> w0.put(l, in.w0(l)));
        return accuracy(in, FashionLoras.zeroDeltas(w0), task, split);
    }

    private final Map<String, Double> individual = new HashMap<>();

    @Override
    public double individualAccuracy(int task, Split split) {
        return individual.computeIfAbsent(task + "/" + split, k -> computeIndividual(task, split));
    }

    private double computeIndividual(int task, Split split) {
        MergeInputs in = inputs(1 << task);
        Map<String, INDArray> d = new HashMap<>();
        in.layers().forEach(l -> d.put(l, in.deltas(l).get(0)));
        return accuracy(in, d, task, split);
    }
}
