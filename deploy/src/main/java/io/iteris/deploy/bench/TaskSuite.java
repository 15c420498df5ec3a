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
final class TaskSuite {
    final List<ImageTasks.Task> tasks = ImageTasks.LORA_TASKS;
    private final BaseModel base;
    private final ModelRunner runner;
    private final List<NamedAdapter> adapters = new ArrayList<>();
    private final Map<String, INDArray[]> features = new HashMap<>();
    private final Map<String, int[]> labels = new HashMap<>();
    private final Map<Integer, MergeInputs> inputs = new HashMap<>();

    TaskSuite(Path example) {
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

    /** Inputs for merging the tasks whose indices are given (bit mask over {@link #tasks}). */
    MergeInputs inputs(int mask) {
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

    /** Merges run so far (for progress). */
    int merges;

    static int all(int n) {
        return (1 << n) - 1;
    }

    /** Merges the masked tasks with {@code samples} calibration images each; the listener sees every solve. */
    Map<String, INDArray> merge(MergeMethod method, int mask, int samples, MergeEngine.Listener listener) {
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

    /** Accuracy of W0 + deltas on a task's split. */
    double accuracy(MergeInputs in, Map<String, INDArray> deltas, String task, ImageTasks.Split split) {
        return Accuracy.of(runner, in.mergedWeights(deltas), features.get(task)[split.ordinal() - 1], labels.get(task + "/" + split));
    }

    /** The base model alone on a task's split. */
    double baseAccuracy(String task, ImageTasks.Split split) {
        MergeInputs in = inputs(all(tasks.size()));
        Map<String, INDArray> w0 = new HashMap<>();
        in.layers().forEach(l -> w0.put(l, in.w0(l)));
        return accuracy(in, FashionLoras.zeroDeltas(w0), task, split);
    }

    private final Map<String, Double> individual = new HashMap<>();

    /** A task's own LoRA on its split. */
    double individualAccuracy(int task, ImageTasks.Split split) {
        return individual.computeIfAbsent(task + "/" + split, k -> computeIndividual(task, split));
    }

    private double computeIndividual(int task, ImageTasks.Split split) {
        MergeInputs in = inputs(1 << task);
        Map<String, INDArray> d = new HashMap<>();
        in.layers().forEach(l -> d.put(l, in.deltas(l).get(0)));
        return accuracy(in, d, tasks.get(task).name(), split);
    }
}
