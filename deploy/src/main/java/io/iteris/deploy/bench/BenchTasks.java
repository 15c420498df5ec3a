package io.iteris.deploy.bench;

import io.iteris.core.engine.LocalMergeEngine;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.NamedAdapter;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.train.FashionLoras;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of real tasks the quality benchmark merges: a base model, one LoRA per task, calibration samples
 * and labelled splits, and how accuracy is measured on them. {@link ImageSuite}: five Fashion-MNIST/MNIST
 * tasks on an MLP; {@link TextSuite}: three text classification tasks on all-MiniLM-L6-v2.
 */
abstract class BenchTasks {
    /** Splits the benchmark measures on: hyper-parameters are chosen on validation, reported on test. */
    enum Split { VALIDATION, TEST }

    private final BaseModel base;
    private final List<NamedAdapter> adapters;
    private final Map<Integer, MergeInputs> inputs = new HashMap<>();
    private final Map<String, Double> individual = new HashMap<>();
    private int merges;

    BenchTasks(BaseModel base, List<NamedAdapter> adapters) {
        this.base = base;
        this.adapters = List.copyOf(adapters);
    }

    /** The adapters {@code <example>/adapters/<task>}, in the order given, each with coefficient 1. */
    static List<NamedAdapter> adapters(Path example, List<String> tasks) {
        List<NamedAdapter> out = new ArrayList<>();
        for (String t : tasks) {
            out.add(new NamedAdapter(t, PeftAdapter.load(example.resolve("adapters").resolve(t)), 1.0));
        }
        return out;
    }

    static int all(int n) {
        return (1 << n) - 1;
    }

    BaseModel base() {
        return base;
    }

    List<String> taskNames() {
        return adapters.stream().map(NamedAdapter::name).toList();
    }

    /** The model the merges and the accuracy measurements run. */
    abstract ModelRunner runner();

    /** The first {@code samples} calibration samples of a task, as the runner takes them. */
    abstract INDArray calibration(String task, int samples);

    /** Accuracy of W0 + deltas on a task's split. */
    abstract double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split);

    /** Calibration sizes for the sweep. */
    abstract int[] calibrationSizes(boolean quick);

    /** Report title and the paragraph that says what the models and tasks are. */
    abstract String title();

    abstract String description(int calibration);

    /** Inputs for merging the tasks whose indices are set in {@code mask}. */
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

    /** Merges the masked tasks with {@code samples} calibration samples each; the listener sees every solve. */
    Map<String, INDArray> merge(MergeMethod method, int mask, int samples, MergeEngine.Listener listener) {
        merges++;
        MergeInputs in = inputs(mask);
        List<INDArray> calibration = new ArrayList<>();
        for (NamedAdapter a : in.adapters()) {
            calibration.add(calibration(a.name(), samples));
        }
        return new LocalMergeEngine(in, method, runner(), calibration, 0).run(listener).deltas();
    }

    /** Merges run so far (for progress). */
    int merges() {
        return merges;
    }

    /** The base model alone. */
    double baseAccuracy(int task, Split split) {
        MergeInputs in = inputs(all(adapters.size()));
        Map<String, INDArray> w0 = new HashMap<>();
        in.layers().forEach(l -> w0.put(l, in.w0(l)));
        return accuracy(in, FashionLoras.zeroDeltas(w0), task, split);
    }

    /** The task's own LoRA. */
    double individualAccuracy(int task, Split split) {
        return individual.computeIfAbsent(task + "/" + split, k -> {
            MergeInputs in = inputs(1 << task);
            Map<String, INDArray> d = new HashMap<>();
            in.layers().forEach(l -> d.put(l, in.deltas(l).get(0)));
            return accuracy(in, d, task, split);
        });
    }
}
