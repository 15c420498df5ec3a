package io.iteris.core.model.onnx;

import io.iteris.core.model.ModelRunner;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A transformer exported to ONNX as the merge engines' {@link ModelRunner}. Calibration samples are token
 * ids carried as a [S, T, 1] tensor, −1 marking padding (see {@code Calibration}), so sharding and
 * streaming treat text like any other samples. Sequences run through ONNX Runtime in batches of
 * {@link #BATCH}; padding tokens are left out of the captured inputs.
 */
public final class OnnxModelRunner implements ModelRunner, AutoCloseable {
    /** Sequences per ONNX Runtime call: bounds the activations held at once. */
    static final int BATCH = 32;
    static final long PAD_ID = 0;

    private final OnnxTransformerRunner runner;

    public OnnxModelRunner(OnnxTransformerRunner runner) {
        this.runner = runner;
    }

    public static OnnxModelRunner open(byte[] model, String source, List<String> targetModules) {
        return new OnnxModelRunner(OnnxTransformerRunner.open(model, source, targetModules, false, List.of()));
    }

    /** A model on disk, its external data beside it, run on {@code device}. */
    public static OnnxModelRunner open(OnnxModelFile model, ModuleNames names, List<String> targetModules, Device device) {
        return new OnnxModelRunner(OnnxTransformerRunner.open(model, names, targetModules, false, List.of(), device));
    }

    @Override
    public List<String> targetLayers() {
        return runner.targetLayers();
    }

    @Override
    public Map<String, String> inputOf() {
        return runner.inputOf();
    }

    @Override
    public long vocabularySize() {
        return runner.vocabulary();
    }

    /** One "feature" per token: its id. */
    @Override
    public int inputWidth() {
        return 1;
    }

    @Override
    public Forward run(Map<String, INDArray> weights, INDArray samples, boolean capture) {
        List<INDArray> outputs = new ArrayList<>();
        Map<String, List<INDArray>> inputs = new LinkedHashMap<>();
        for (OnnxTransformerRunner.TokenBatch batch : batches(samples)) {
            OnnxTransformerRunner.Forward f = runner.run(weights, batch, capture);
            outputs.add(f.output());
            f.layerInputs().forEach((m, x) -> inputs.computeIfAbsent(m, k -> new ArrayList<>()).add(x));
        }
        Map<String, INDArray> captured = concatenated(inputs);
        INDArray output = outputs.size() == 1 ? outputs.get(0) : Nd4j.concat(0, outputs.toArray(INDArray[]::new));
        return new Forward(output, captured);
    }

    @Override
    public Map<String, INDArray> capture(Map<String, INDArray> weights, INDArray samples) {
        Map<String, List<INDArray>> inputs = new LinkedHashMap<>();
        for (OnnxTransformerRunner.TokenBatch batch : batches(samples)) {
            runner.capture(weights, batch).forEach((m, x) -> inputs.computeIfAbsent(m, k -> new ArrayList<>()).add(x));
        }
        return concatenated(inputs);
    }

    /** Token ids [S, T, 1] as ONNX Runtime runs them: {@link #BATCH} sequences at a time. */
    private static List<OnnxTransformerRunner.TokenBatch> batches(INDArray samples) {
        if (samples.rank() != 3 || samples.size(2) != 1) {
            throw new IllegalArgumentException("token ids must be [S, T, 1], got " + java.util.Arrays.toString(samples.shape()));
        }
        int s = (int) samples.size(0);
        List<OnnxTransformerRunner.TokenBatch> out = new ArrayList<>();
        for (int from = 0; from < s; from += BATCH) {
            out.add(tokenBatch(samples.get(NDArrayIndex.interval(from, Math.min(s, from + BATCH)), NDArrayIndex.all(), NDArrayIndex.point(0))));
        }
        return out;
    }

    /** Per module, its batches' rows in one matrix (modules reading one tensor keep sharing one). */
    private static Map<String, INDArray> concatenated(Map<String, List<INDArray>> parts) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        Map<INDArray, INDArray> joined = new java.util.IdentityHashMap<>();
        parts.forEach((m, p) -> out.put(m, p.size() == 1 ? p.get(0)
                : joined.computeIfAbsent(p.get(0), k -> Nd4j.concat(0, p.toArray(INDArray[]::new)))));
        return out;
    }

    /**
     * With the Gram on the device ({@link Device.Gram}), the statistics of each batch of sequences are computed in the
     * session and summed here in batch order; otherwise captured and multiplied in the JVM.
     */
    @Override
    public Map<String, GramStatistics> statistics(Map<String, INDArray> weights, INDArray samples, Map<String, INDArray> x, boolean withG) {
        if (!runner.gramOnDevice()) {
            return ModelRunner.super.statistics(weights, samples, x, withG);
        }
        Map<String, List<GramStatistics>> parts = new LinkedHashMap<>();
        long row = 0;
        for (OnnxTransformerRunner.TokenBatch batch : batches(samples)) {
            long kept = runner.keptRows(batch);
            Map<String, INDArray> xb = new LinkedHashMap<>();
            for (Map.Entry<String, INDArray> e : x.entrySet()) {
                xb.put(e.getKey(), e.getValue().get(NDArrayIndex.interval(row, row + kept), NDArrayIndex.all()));
            }
            row += kept;
            runner.statistics(weights, batch, xb, withG).forEach((m, st) -> parts.computeIfAbsent(m, k -> new ArrayList<>()).add(st));
        }
        Map<String, GramStatistics> out = new LinkedHashMap<>();
        Map<GramStatistics, GramStatistics> summed = new java.util.IdentityHashMap<>();
        // layers that read one tensor share one object, summed once
        parts.forEach((m, p) -> out.put(m, summed.computeIfAbsent(p.get(0), k -> GramStatistics.sumInOrder(p))));
        return out;
    }

    /** Each target's weight as the model file holds it, [out, in] float64 (every target, read now: for tests and small models). */
    public Map<String, INDArray> w0() {
        return runner.w0();
    }

    /** What crossed into and out of ONNX Runtime so far ({@link OnnxTransformerRunner.Transfer}). */
    public OnnxTransformerRunner.Transfer transfer() {
        return runner.transfer();
    }

    /** [S, T] ids with −1 padding → ids padded with [PAD] and the attention mask. */
    public static OnnxTransformerRunner.TokenBatch tokenBatch(INDArray ids) {
        int s = (int) ids.size(0);
        int t = (int) ids.size(1);
        double[] flat = io.iteris.core.linalg.Matrices.toArray(ids.dup('c'));
        long[][] tokens = new long[s][t];
        long[][] mask = new long[s][t];
        for (int i = 0; i < s; i++) {
            for (int j = 0; j < t; j++) {
                double v = flat[i * t + j];
                if (v != Math.rint(v) || v < -1) {
                    throw new IllegalArgumentException("sample " + i + ", token " + j + ": " + v + " is not a token id (or −1 for padding)");
                }
                tokens[i][j] = v < 0 ? PAD_ID : (long) v;
                mask[i][j] = v < 0 ? 0 : 1;
            }
        }
        return new OnnxTransformerRunner.TokenBatch(tokens, mask);
    }

    @Override
    public void close() {
        runner.close();
    }
}
