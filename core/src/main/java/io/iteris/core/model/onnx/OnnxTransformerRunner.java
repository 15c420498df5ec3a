package io.iteris.core.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.stats.GramStatistics;
import onnx.Onnx;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a transformer exported to ONNX with ONNX Runtime, its LoRA-targeted projections' weights fed on every
 * run (one session for all iterations; see {@link OnnxGraphEditor}) and their inputs captured.
 *
 * <p>Padding: rows of padding tokens (attention mask 0) are left out of the captured inputs by default, so
 * the statistics describe real tokens only. The original IterIS code keeps them; {@code includePadding}
 * restores that.
 */
public final class OnnxTransformerRunner implements AutoCloseable {
    /** Token ids and attention mask, [batch, tokens] each, padded to one length. */
    public record TokenBatch(long[][] ids, long[][] mask) {
        public TokenBatch {
            if (ids.length == 0 || ids.length != mask.length) {
                throw new IllegalArgumentException("a token batch needs as many masks as sequences, and at least one");
            }
            for (int b = 0; b < ids.length; b++) {
                if (ids[b].length != ids[0].length || mask[b].length != ids[0].length) {
                    throw new IllegalArgumentException("sequence " + b + " is not padded to " + ids[0].length + " tokens");
                }
            }
        }

        /** Sequences padded on the right with {@code padId} to the longest, mask 1 on their own tokens. */
        public static TokenBatch padded(List<long[]> sequences, long padId) {
            int len = sequences.stream().mapToInt(q -> q.length).max().orElse(0);
            long[][] ids = new long[sequences.size()][len];
            long[][] mask = new long[sequences.size()][len];
            for (int b = 0; b < sequences.size(); b++) {
                long[] q = sequences.get(b);
                java.util.Arrays.fill(ids[b], padId);
                System.arraycopy(q, 0, ids[b], 0, q.length);
                java.util.Arrays.fill(mask[b], 0, q.length, 1);
            }
            return new TokenBatch(ids, mask);
        }

        int batch() {
            return ids.length;
        }

        int tokens() {
            return ids[0].length;
        }
    }

    /**
     * @param output      the graph's first output, as its shape says (e.g. last_hidden_state [B, T, H]), float64
     * @param layerInputs per target module, its inputs [rows, in] (float64, sample-major rows)
     * @param extra       the extra outputs asked for when the runner was opened, as their shapes say
     */
    public record Forward(INDArray output, Map<String, INDArray> layerInputs, Map<String, INDArray> extra) {
    }

    /**
     * Bytes that crossed into and out of ONNX Runtime since the runner opened: the fed weights, the other fed inputs
     * (token ids, and with the Gram on the device the paired inputs X), and the fetched outputs. On a GPU these are the
     * host-to-device and device-to-host copies.
     */
    public record Transfer(long weightsIn, long inputsIn, long out) {
    }

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final java.util.concurrent.atomic.AtomicLong weightsIn = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong inputsIn = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong out = new java.util.concurrent.atomic.AtomicLong();
    private final OrtSession session;
    private final OnnxGraphEditor.Edited edited;
    private final boolean includePadding;
    private final List<String> extraOutputs;

    private OnnxTransformerRunner(OnnxGraphEditor.Edited edited, boolean includePadding, List<String> extraOutputs, Device device)
            throws OrtException {
        this.edited = edited;
        this.includePadding = includePadding;
        this.extraOutputs = List.copyOf(extraOutputs);
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            device.check().addTo(options);
            if (edited.file().hasExternalData()) {
                // the edited graph is loaded from memory; its external initializers stay in their files beside the model
                options.addConfigEntry("session.model_external_initializers_file_folder_path", edited.file().directory().toString());
                // Without pre-packing, ONNX Runtime maps the external weights instead of copying them into packed buffers:
                // measured on a 2.4 GB model, 97 MB resident after loading against 2.3 GB. The mapped pages are the file's
                // page cache, shared by every process on the host that runs the model, and given back under pressure.
                options.addConfigEntry("session.disable_prepacking", "1");
            }
            this.session = env.createSession(edited.model(), options);
        }
    }

    public static OnnxTransformerRunner open(byte[] model, String source, List<String> targetModules, boolean includePadding,
                                             List<String> extraOutputs) {
        return open(OnnxGraphEditor.edit(model, source, targetModules, extraOutputs), includePadding, extraOutputs, Device.CPU);
    }

    /** A model on disk (its external data beside it), its modules named by {@code names}, run on {@code device}. */
    public static OnnxTransformerRunner open(OnnxModelFile model, ModuleNames names, List<String> targetModules, boolean includePadding,
                                             List<String> extraOutputs, Device device) {
        return open(OnnxGraphEditor.edit(model, names, targetModules, extraOutputs, device.gramOnDevice()), includePadding, extraOutputs,
                device);
    }

    private static OnnxTransformerRunner open(OnnxGraphEditor.Edited edited, boolean includePadding, List<String> extraOutputs, Device device) {
        try {
            return new OnnxTransformerRunner(edited, includePadding, extraOutputs, device);
        } catch (OrtException e) {
            boolean bf16 = edited.targets().values().stream().anyMatch(t -> t.elemType() == Onnx.TensorProto.DataType.BFLOAT16_VALUE);
            throw new IllegalArgumentException(edited.file().location() + ": ONNX Runtime cannot load the edited graph: " + e.getMessage()
                    + (bf16 ? " (ONNX Runtime's CPU provider lacks bfloat16 kernels such as MatMul: run a bfloat16 model on CUDA, or"
                    + " export it in float16 or float32)" : ""), e);
        }
    }

    /** Token ids the model's embedding table has rows for (0: unknown). */
    public long vocabulary() {
        return edited.vocabulary();
    }

    /** The target modules, in graph order. */
    public List<String> targetLayers() {
        return List.copyOf(edited.targets().keySet());
    }

    /** Per target module, the activation it reads (its MatMul's first input). */
    public Map<String, String> inputOf() {
        Map<String, String> out = new LinkedHashMap<>();
        edited.targets().forEach((m, t) -> out.put(m, t.activation()));
        return out;
    }

    /** Each target's weight as the model file holds it, [out, in] float64 (read now, every target: for small models and tests). */
    public Map<String, INDArray> w0() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        edited.targets().keySet().forEach(m -> out.put(m, edited.w0(m)));
        return out;
    }

    /**
     * One forward pass with the given full weights of every target ([out, in], any float type).
     */
    public Forward run(Map<String, INDArray> weights, TokenBatch batch, boolean capture) {
        return pass(weights, batch, capture, true);
    }

    /**
     * The targets' inputs of one pass, per module, without the model's output: an LLM's output is its logits, [B, T,
     * vocabulary], larger than every captured input together, and the statistics never read it.
     */
    public Map<String, INDArray> capture(Map<String, INDArray> weights, TokenBatch batch) {
        return pass(weights, batch, true, false).layerInputs();
    }

    private Forward pass(Map<String, INDArray> weights, TokenBatch batch, boolean capture, boolean withOutput) {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feed(feeds, weights, batch);
            if (gramOnDevice()) {
                // every node runs whatever is fetched: the statistics nodes get zero rows
                for (GramGraph.Names n : edited.grams().values()) {
                    noStatistics(feeds, n);
                }
            }
            Set<String> wanted = new LinkedHashSet<>();
            if (withOutput) {
                wanted.add(edited.output());
                wanted.addAll(extraOutputs);
            }
            if (capture) {
                edited.targets().values().forEach(t -> wanted.add(t.activation()));
            }
            try (OrtSession.Result result = session.run(feeds, wanted)) {
                Map<String, INDArray> got = new HashMap<>();
                for (String name : wanted) {
                    got.put(name, OnnxTensors.toArray(fetched(result, name)));
                }
                Map<String, INDArray> inputs = new LinkedHashMap<>();
                if (capture) {
                    Map<String, INDArray> byActivation = new HashMap<>();
                    for (OnnxGraphEditor.Target t : edited.targets().values()) {
                        inputs.put(t.module(), byActivation.computeIfAbsent(t.activation(), a -> rows(got.get(a), batch)));
                    }
                }
                Map<String, INDArray> extra = new LinkedHashMap<>();
                if (withOutput) {
                    extraOutputs.forEach(n -> extra.put(n, got.get(n)));
                }
                return new Forward(got.get(edited.output()), inputs, extra);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Whether this runner computes the Gram statistics in its session ({@link #statistics}). */
    public boolean gramOnDevice() {
        return !edited.grams().isEmpty();
    }

    /**
     * One pass's statistics computed in the session ({@link GramGraph}), per target module (modules reading one tensor
     * share one object): C = xᵀX̃ and H = X̃ᵀX̃, and G = xᵀx when {@code withG}, over the rows the captured inputs keep,
     * where X̃ are this pass's inputs and {@code x}, per module of {@code modules}, the task model's inputs for the same
     * rows ([kept rows, in], as {@link #run} captured them). Only in×in float64 matrices are fetched.
     */
    public Map<String, GramStatistics> statistics(Map<String, INDArray> weights, TokenBatch batch, Map<String, INDArray> x, boolean withG) {
        if (!gramOnDevice()) {
            throw new IllegalStateException("this runner was opened with its Gram statistics on the host");
        }
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feed(feeds, weights, batch);
            long[] kept = keptRowIndices(batch);
            Map<String, String> moduleOf = new LinkedHashMap<>();
            Set<String> wanted = new LinkedHashSet<>();
            for (Map.Entry<String, INDArray> e : x.entrySet()) {
                GramGraph.Names n = edited.grams().get(edited.targets().get(e.getKey()).activation());
                if (moduleOf.putIfAbsent(n.activation(), e.getKey()) == null) {
                    feeds.put(n.rows(), input(OnnxTensor.createTensor(env, LongBuffer.wrap(kept), new long[]{kept.length})));
                    INDArray xm = e.getValue();
                    if (xm.rank() != 2 || xm.size(0) != kept.length || xm.size(1) != n.in()) {
                        throw new IllegalArgumentException("paired inputs of " + e.getKey() + " must be [" + kept.length + ", " + n.in()
                                + "] (the batch's kept rows), got " + java.util.Arrays.toString(xm.shape()));
                    }
                    float[] xf = xm.castTo(DataType.FLOAT).dup('c').data().asFloat();
                    feeds.put(n.x(), input(OnnxTensors.typed(env, xf, new long[]{kept.length, n.in()}, n.elemType())));
                    feeds.put(n.xg(), withG ? input(OnnxTensors.typed(env, xf, new long[]{kept.length, n.in()}, n.elemType()))
                            : OnnxTensors.typed(env, new float[0], new long[]{0, n.in()}, n.elemType()));
                    wanted.add(n.c());
                    wanted.add(n.h());
                    if (withG) {
                        wanted.add(n.g());
                    }
                }
            }
            // the statistics of activations not asked for are of zero rows
            for (GramGraph.Names n : edited.grams().values()) {
                if (!moduleOf.containsKey(n.activation())) {
                    noStatistics(feeds, n);
                }
            }
            long rows = kept.length;
            Map<String, GramStatistics> byActivation = new HashMap<>();
            try (OrtSession.Result result = session.run(feeds, wanted)) {
                for (String a : moduleOf.keySet()) {
                    GramGraph.Names n = edited.grams().get(a);
                    byActivation.put(a, new GramStatistics(withG ? OnnxTensors.symmetric(fetched(result, n.g()), n.in()) : null,
                            OnnxTensors.square(fetched(result, n.c()), n.in()), OnnxTensors.symmetric(fetched(result, n.h()), n.in()), rows));
                }
            }
            Map<String, GramStatistics> out = new LinkedHashMap<>();
            x.keySet().forEach(m -> out.put(m, byActivation.get(edited.targets().get(m).activation())));
            return out;
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Rows of the batch its captured inputs keep (every token with {@code includePadding}, else the real ones). */
    public long keptRows(TokenBatch batch) {
        return keptRowIndices(batch).length;
    }

    /** What crossed into and out of ONNX Runtime so far. */
    public Transfer transfer() {
        return new Transfer(weightsIn.get(), inputsIn.get(), out.get());
    }

    /**
     * The [batch, tokens] int64 tensor this runner feeds a graph input named {@code input}: the token ids, the attention
     * mask, zero token types or positions 0..T−1 (public so that a benchmark can feed the unmodified model the same way).
     */
    public static OnnxTensor tokenInput(OrtEnvironment env, String input, TokenBatch batch) throws OrtException {
        long[][] values = switch (input) {
            case "input_ids" -> batch.ids();
            case "attention_mask" -> batch.mask();
            case "token_type_ids" -> new long[batch.batch()][batch.tokens()];
            case "position_ids" -> positions(batch);
            default -> throw new IllegalArgumentException("the graph takes an input '" + input
                    + "' this runner does not know (supported: input_ids, attention_mask, token_type_ids, position_ids;"
                    + " export decoder models without past key values)");
        };
        return OnnxTensor.createTensor(env, LongBuffer.wrap(OnnxTensors.flatten(values)), new long[]{batch.batch(), batch.tokens()});
    }

    /** The graph's token inputs and every target's weight. */
    private void feed(Map<String, OnnxTensor> feeds, Map<String, INDArray> weights, TokenBatch batch) throws OrtException {
        for (String input : edited.graphInputs()) {
            feeds.put(input, input(tokenInput(env, input, batch)));
        }
        for (OnnxGraphEditor.Target t : edited.targets().values()) {
            INDArray w = weights.get(t.module());
            if (w == null || w.rank() != 2 || w.size(0) != t.out() || w.size(1) != t.in()) {
                throw new IllegalArgumentException("weight for " + t.module() + " must be [" + t.out() + ", " + t.in() + "], got "
                        + (w == null ? "none" : java.util.Arrays.toString(w.shape())));
            }
            OnnxTensor wt = weightTensor(w, t);
            weightsIn.addAndGet(OnnxTensors.bytes(wt));
            feeds.put(t.weightInput(), wt);
        }
    }

    private OnnxTensor input(OnnxTensor t) {
        inputsIn.addAndGet(OnnxTensors.bytes(t));
        return t;
    }

    private OnnxTensor fetched(OrtSession.Result result, String name) {
        OnnxTensor t = (OnnxTensor) result.get(name).orElseThrow(() -> new IllegalStateException("no output " + name));
        out.addAndGet(OnnxTensors.bytes(t));
        return t;
    }

    /** Feeds for an activation whose statistics are not wanted: no rows, empty X and X'. */
    private void noStatistics(Map<String, OnnxTensor> feeds, GramGraph.Names n) throws OrtException {
        feeds.put(n.rows(), OnnxTensor.createTensor(env, LongBuffer.allocate(0), new long[]{0}));
        for (String input : List.of(n.x(), n.xg())) {
            feeds.put(input, OnnxTensors.typed(env, new float[0], new long[]{0, n.in()}, n.elemType()));
        }
    }

    /** The batch's rows, b·T + t, that the captured inputs keep, in order. */
    private long[] keptRowIndices(TokenBatch batch) {
        java.util.stream.LongStream.Builder out = java.util.stream.LongStream.builder();
        for (int b = 0; b < batch.batch(); b++) {
            for (int t = 0; t < batch.tokens(); t++) {
                if (includePadding || batch.mask()[b][t] != 0) {
                    out.add((long) b * batch.tokens() + t);
                }
            }
        }
        return out.build().toArray();
    }

    /** [B, T, in] → [rows, in]: the rows {@link #keptRowIndices} keeps, in sample-major order. */
    private INDArray rows(INDArray activation, TokenBatch batch) {
        int in = (int) activation.size(2);
        double[] all = Matrices.toArray(activation.reshape('c', (long) batch.batch() * batch.tokens(), in));
        long[] kept = keptRowIndices(batch);
        double[] flat = new double[kept.length * in];
        for (int r = 0; r < kept.length; r++) {
            System.arraycopy(all, (int) kept[r] * in, flat, r * in, in);
        }
        return Matrices.of(flat, kept.length, in);
    }

    /** A weight [out, in] as the graph input [in, out], in the target's element type (float32, float16 or bfloat16). */
    private OnnxTensor weightTensor(INDArray w, OnnxGraphEditor.Target t) throws OrtException {
        return OnnxTensors.typed(env, w.transpose().castTo(DataType.FLOAT).dup('c').data().asFloat(), new long[]{t.in(), t.out()}, t.elemType());
    }

    /** 0, 1, 2, ... per sequence (right padding), as LLaMA-style exports take them. */
    private static long[][] positions(TokenBatch batch) {
        long[][] p = new long[batch.batch()][batch.tokens()];
        for (long[] row : p) {
            for (int t = 0; t < row.length; t++) {
                row[t] = t;
            }
        }
        return p;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }
}
