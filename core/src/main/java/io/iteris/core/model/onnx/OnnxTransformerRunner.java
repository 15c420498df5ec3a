package io.iteris.core.model.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.HalfFloats;
import onnx.Onnx;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
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

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final OnnxGraphEditor.Edited edited;
    private final boolean includePadding;
    private final List<String> extraOutputs;

    private OnnxTransformerRunner(OnnxGraphEditor.Edited edited, boolean includePadding, List<String> extraOutputs, Device device)
            throws OrtException {
        this.edited = edited;
        this.includePadding = includePadding;
        this.extraOutputs = List.copyOf(extraOutputs);
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        if (device.check().cuda()) {
            options.addCUDA(device.index());
        }
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

    public static OnnxTransformerRunner open(byte[] model, String source, List<String> targetModules, boolean includePadding,
                                             List<String> extraOutputs) {
        return open(OnnxGraphEditor.edit(model, source, targetModules, extraOutputs), includePadding, extraOutputs, Device.CPU);
    }

    /** A model on disk (its external data beside it), its modules named by {@code names}, run on {@code device}. */
    public static OnnxTransformerRunner open(OnnxModelFile model, ModuleNames names, List<String> targetModules, boolean includePadding,
                                             List<String> extraOutputs, Device device) {
        return open(OnnxGraphEditor.edit(model, names, targetModules, extraOutputs), includePadding, extraOutputs, device);
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
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            long[] shape = {batch.batch(), batch.tokens()};
            for (String input : edited.graphInputs()) {
                long[][] values = switch (input) {
                    case "input_ids" -> batch.ids();
                    case "attention_mask" -> batch.mask();
                    case "token_type_ids" -> new long[batch.batch()][batch.tokens()];
                    case "position_ids" -> positions(batch);
                    default -> throw new IllegalArgumentException("the graph takes an input '" + input
                            + "' this runner does not know (supported: input_ids, attention_mask, token_type_ids, position_ids;"
                            + " export decoder models without past key values)");
                };
                feeds.put(input, OnnxTensor.createTensor(env, LongBuffer.wrap(flatten(values)), shape));
            }
            for (OnnxGraphEditor.Target t : edited.targets().values()) {
                INDArray w = weights.get(t.module());
                if (w == null || w.rank() != 2 || w.size(0) != t.out() || w.size(1) != t.in()) {
                    throw new IllegalArgumentException("weight for " + t.module() + " must be [" + t.out() + ", " + t.in() + "], got "
                            + (w == null ? "none" : java.util.Arrays.toString(w.shape())));
                }
                feeds.put(t.weightInput(), weightTensor(w, t));
            }
            Set<String> wanted = new LinkedHashSet<>();
            wanted.add(edited.output());
            if (capture) {
                edited.targets().values().forEach(t -> wanted.add(t.activation()));
            }
            wanted.addAll(extraOutputs);
            try (OrtSession.Result result = session.run(feeds, wanted)) {
                Map<String, INDArray> got = new HashMap<>();
                for (String name : wanted) {
                    OnnxValue v = result.get(name).orElseThrow(() -> new IllegalStateException("no output " + name));
                    got.put(name, toArray((OnnxTensor) v));
                }
                Map<String, INDArray> inputs = new LinkedHashMap<>();
                if (capture) {
                    Map<String, INDArray> byActivation = new HashMap<>();
                    for (OnnxGraphEditor.Target t : edited.targets().values()) {
                        inputs.put(t.module(), byActivation.computeIfAbsent(t.activation(), a -> rows(got.get(a), batch)));
                    }
                }
                Map<String, INDArray> extra = new LinkedHashMap<>();
                extraOutputs.forEach(n -> extra.put(n, got.get(n)));
                return new Forward(got.get(edited.output()), inputs, extra);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** [B, T, in] → [rows, in]: every token's row, or only the real tokens' (mask 1), in sample-major order. */
    private INDArray rows(INDArray activation, TokenBatch batch) {
        int in = (int) activation.size(2);
        List<double[]> kept = new ArrayList<>();
        double[] all = Matrices.toArray(activation.reshape('c', (long) batch.batch() * batch.tokens(), in));
        for (int b = 0; b < batch.batch(); b++) {
            for (int t = 0; t < batch.tokens(); t++) {
                if (includePadding || batch.mask()[b][t] != 0) {
                    int row = b * batch.tokens() + t;
                    kept.add(java.util.Arrays.copyOfRange(all, row * in, (row + 1) * in));
                }
            }
        }
        double[] flat = new double[kept.size() * in];
        for (int r = 0; r < kept.size(); r++) {
            System.arraycopy(kept.get(r), 0, flat, r * in, in);
        }
        return Matrices.of(flat, kept.size(), in);
    }

    /** A weight [out, in] as the graph input [in, out], in the target's element type (float32, float16 or bfloat16). */
    private OnnxTensor weightTensor(INDArray w, OnnxGraphEditor.Target t) throws OrtException {
        float[] wt = w.transpose().castTo(DataType.FLOAT).dup('c').data().asFloat();
        long[] shape = {t.in(), t.out()};
        if (t.elemType() == Onnx.TensorProto.DataType.FLOAT_VALUE) {
            return OnnxTensor.createTensor(env, FloatBuffer.wrap(wt), shape);
        }
        boolean half = t.elemType() == Onnx.TensorProto.DataType.FLOAT16_VALUE;
        ByteBuffer b = ByteBuffer.allocateDirect(wt.length * 2).order(ByteOrder.nativeOrder());
        for (float f : wt) {
            b.putShort(half ? HalfFloats.floatToHalf(f) : HalfFloats.floatToBf16(f));
        }
        b.flip();
        return OnnxTensor.createTensor(env, b, shape, half ? OnnxJavaType.FLOAT16 : OnnxJavaType.BFLOAT16);
    }

    /** An output as float64, from float32, float16 or bfloat16. */
    static INDArray toArray(OnnxTensor t) {
        long[] shape = t.getInfo().getShape();
        OnnxJavaType type = t.getInfo().type;
        float[] v;
        if (type == OnnxJavaType.FLOAT16 || type == OnnxJavaType.BFLOAT16) {
            ByteBuffer b = t.getByteBuffer().order(ByteOrder.nativeOrder());
            v = OnnxModelFile.decode(b, b.remaining() / 2, type == OnnxJavaType.FLOAT16 ? DType.F16 : DType.BF16);
        } else {
            FloatBuffer fb = t.getFloatBuffer();
            v = new float[fb.remaining()];
            fb.get(v);
        }
        return Nd4j.create(v, shape, DataType.FLOAT).castTo(DataType.DOUBLE);
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

    static long[] flatten(long[][] v) {
        long[] out = new long[v.length * v[0].length];
        for (int i = 0; i < v.length; i++) {
            System.arraycopy(v[i], 0, out, i * v[0].length, v[0].length);
        }
        return out;
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
