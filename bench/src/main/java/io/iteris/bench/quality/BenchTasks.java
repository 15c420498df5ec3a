package io.iteris.bench.quality;

import io.iteris.core.engine.LocalMergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.NamedAdapter;
import io.iteris.core.export.LoraExporter;
import io.iteris.core.linalg.Blas;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.bench.train.Accuracy;
import io.iteris.bench.train.FashionLoras;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of real tasks the quality benchmark merges: a base model, one LoRA per task, calibration samples
 * and labelled splits, and how accuracy is measured on them. {@link ImageSuite}: five Fashion-MNIST/MNIST
 * tasks on an MLP; {@link TextSuite}: eight text classification tasks on all-MiniLM-L6-v2.
 *
 * <p>Merges are scored as users get them: each merged update is cut to the published adapter's rank (the sum of
 * the input ranks, what {@code iteris merge} writes by default) by the exporter's own truncated SVD, and that
 * adapter is what the accuracy is measured on. Calibration comes in draws: draw d is the d-th window of
 * {@code samples} items of each task's unlabelled calibration pool, so repeats see disjoint samples.
 */
abstract class BenchTasks {
    /** Splits the benchmark measures on: hyper-parameters are chosen on validation, reported on test. */
    enum Split { VALIDATION, TEST }

    private final BaseModel base;
    private final List<NamedAdapter> adapters;
    private final Map<Integer, MergeInputs> inputs = new HashMap<>();
    private final Map<String, Double> individual = new HashMap<>();
    private final Map<String, int[]> ownPredictions = new HashMap<>();
    /** Solves kept: about 1 GB of MiniLM updates, or far less for the image suite's MLP. */
    private final MergeCache cache = new MergeCache(80);
    private FeatureCache features;
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

    /** Calibration samples [from, from + count) of a task's pool, as the runner takes them. */
    abstract INDArray calibration(String task, int from, int count);

    /** How many calibration samples each task's pool holds. */
    abstract int calibrationPool();

    /** The class the model W0 + deltas picks for each of a task's calibration samples [from, from + count). */
    abstract int[] predictions(MergeInputs in, Map<String, INDArray> deltas, int task, int from, int count);

    /** Accuracy of W0 + deltas on the first {@code limit} items (0: all) of a task's split. */
    abstract double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split, int limit);

    /** Accuracy on the whole split. */
    double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split) {
        return accuracy(in, deltas, task, split, 0);
    }

    /** How many items a task's split holds (the first {@code limit}, when it is not 0). */
    abstract int size(int task, Split split, int limit);

    /** Calibration draws the merge of every task is repeated over. */
    abstract int draws(boolean quick);

    /** IterIS's relative ridges α1 = α2 to choose among, and the most solves tried. */
    abstract double[] iterisAlphas(boolean quick);

    abstract int maxSolves(boolean quick);

    /** Validation items per task for tuning (0: all), and test items per task for merges of fewer tasks. */
    abstract int validationItems();

    abstract int subsetTestItems();

    /** Validation items per task each tuning candidate is screened on before the best go on to all of them (0: no screen). */
    int screenItems() {
        return 0;
    }

    /**
     * How many rivals besides task arithmetic the merges of fewer tasks are measured with, the best on validation
     * (−1: every method).
     */
    int subsetRivals() {
        return -1;
    }

    /** Test items per task for the merges of every task (0: all). */
    int allTestItems() {
        return 0;
    }

    /**
     * The feature-matching refinement after IterIS ({@link FeatureRefinement}), where this suite's model has the
     * activation and gradients it needs; null where it does not (an ONNX model run for inference).
     */
    FeatureRefinement refinement() {
        return null;
    }

    /** Whether merges of three tasks are measured besides pairs. */
    abstract boolean triples();

    /** Calibration sizes for the sweep. */
    abstract int[] calibrationSizes(boolean quick);

    /** Report title and the paragraph that says what the models and tasks are. */
    abstract String title();

    /** The name {@code --suite} takes. */
    abstract String suiteName();

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

    /** Each solve's published updates, as a merge goes. */
    interface Solves {
        void onSolve(int solve, Map<String, INDArray> deltas);
    }

    /**
     * Merges the masked tasks on calibration draw {@code draw} of {@code samples} samples each and returns the
     * published adapter's updates; the listener sees every solve's published updates too. A data-aware merge asked for
     * again is served from the {@link MergeCache}, its solves replayed to the listener.
     */
    Map<String, INDArray> merge(MergeMethod method, int mask, int samples, int draw, Solves listener) {
        boolean data = method.dataNeeds() != MergeMethod.DataNeeds.NONE;
        int asked = method.dataNeeds() == MergeMethod.DataNeeds.ITERATIVE ? method.solves() : 1;
        String key = MergeCache.key(method, mask, samples, draw);
        List<Map<String, INDArray>> solves = data ? cache.get(key, asked) : null;
        if (solves == null) {
            merges++;
            MergeInputs in = inputs(mask);
            List<INDArray> calibration = new ArrayList<>();
            for (NamedAdapter a : in.adapters()) {
                calibration.add(calibration(a.name(), window(samples, draw), samples));
            }
            List<Map<String, INDArray>> got = new ArrayList<>();
            var outcome = new LocalMergeEngine(in, method, data ? features() : runner(), calibration, 0)
                    .run(data || listener != null ? (report, merged) -> got.add(published(in, merged, report.layers())) : null);
            if (got.isEmpty()) {
                got.add(published(in, outcome.deltas(), outcome.finalResults()));
            }
            if (data) {
                cache.put(key, got, asked);
            }
            solves = got;
        }
        if (listener != null) {
            for (int k = 0; k < solves.size(); k++) {
                listener.onSolve(k, solves.get(k));
            }
        }
        return solves.get(solves.size() - 1);
    }

    /** The runner with the task models' captures kept across merges ({@link FeatureCache}). */
    private ModelRunner features() {
        if (features == null) {
            features = new FeatureCache(runner(), 2 * adapters.size());
        }
        return features;
    }

    /**
     * Accuracy on the first {@code limit} items of a split, measured once per result: a cached merge's result asked
     * for again (a label-free choice equal to the label-tuned one) is not run again.
     */
    double score(MergeInputs in, Map<String, INDArray> deltas, int task, Split split, int limit) {
        return cache.scoreOf(deltas, task + "/" + split + "/" + limit, () -> accuracy(in, deltas, task, split, limit));
    }

    /** The first calibration sample of draw {@code draw}; the pool must hold it. */
    int window(int samples, int draw) {
        int from = samples * draw;
        if (from + samples > calibrationPool()) {
            throw new IllegalArgumentException("calibration draw " + draw + " of " + samples + " samples needs "
                    + (from + samples) + " per task; the pool holds " + calibrationPool());
        }
        return from;
    }

    /** The updates of the adapter a user loads: each cut to the summed input rank by the exporter's truncated SVD. */
    static Map<String, INDArray> published(MergeInputs in, Map<String, INDArray> deltas, Map<String, LayerMergeResult> results) {
        Map<String, INDArray> out = new java.util.LinkedHashMap<>();
        for (String layer : in.layers()) {
            LayerMergeResult r = results == null ? null : results.get(layer);
            int rank = in.summedRank(layer);
            LoraExporter.Factorised f = r != null && r.factors() != null ? LoraExporter.factorise(r.factors(), rank)
                    : LoraExporter.factorise(deltas.get(layer), rank);
            out.put(layer, Blas.mmul(f.b(), f.a()));
        }
        return out;
    }

    /**
     * Label-free: how often W0 + deltas picks the class the task's own LoRA model picks, on the task's calibration
     * samples [from, from + count), averaged over the masked tasks. No label is read.
     */
    double agreement(Map<String, INDArray> deltas, int mask, int from, int count) {
        return cache.scoreOf(deltas, "agreement/" + mask + "/" + from + "/" + count, () -> measureAgreement(deltas, mask, from, count));
    }

    private double measureAgreement(Map<String, INDArray> deltas, int mask, int from, int count) {
        MergeInputs in = inputs(mask);
        double sum = 0;
        int n = 0;
        for (int i = 0; i < adapters.size(); i++) {
            if ((mask & (1 << i)) == 0) {
                continue;
            }
            int task = i;
            int[] own = ownPredictions.computeIfAbsent(task + "/" + from + "/" + count, k -> {
                MergeInputs single = inputs(1 << task);
                Map<String, INDArray> d = new HashMap<>();
                single.layers().forEach(l -> d.put(l, single.deltas(l).get(0)));
                return predictions(single, d, task, from, count);
            });
            sum += Accuracy.agreement(predictions(in, deltas, task, from, count), own);
            n++;
        }
        return sum / n;
    }

    /** Merges run so far (for progress). */
    int merges() {
        return merges;
    }

    /** The base model alone, on the first {@code limit} items (0: all). */
    double baseAccuracy(int task, Split split, int limit) {
        MergeInputs in = inputs(all(adapters.size()));
        Map<String, INDArray> w0 = new HashMap<>();
        in.layers().forEach(l -> w0.put(l, in.w0(l)));
        return accuracy(in, FashionLoras.zeroDeltas(w0), task, split, limit);
    }

    /** The task's own LoRA. */
    double individualAccuracy(int task, Split split) {
        return individualAccuracy(task, split, 0);
    }

    double individualAccuracy(int task, Split split, int limit) {
        return individual.computeIfAbsent(task + "/" + split + "/" + limit, k -> {
            MergeInputs in = inputs(1 << task);
            Map<String, INDArray> d = new HashMap<>();
            in.layers().forEach(l -> d.put(l, in.deltas(l).get(0)));
            return accuracy(in, d, task, split, limit);
        });
    }
}
