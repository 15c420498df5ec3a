package io.iteris.core.demo;

import io.iteris.core.AtomicFiles;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.peft.PeftAdapterWriter;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.HalfFloats;
import onnx.Onnx;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.protobuf.ByteString;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Generates a decoder LLM in the shape exporters write LLaMA (random weights): an ONNX graph with inputs
 * {@code input_ids}, {@code attention_mask}, {@code position_ids}, per layer the projections
 * {@code /model/layers.N/self_attn/{q,k,v,o}_proj/MatMul} and {@code /model/layers.N/mlp/{gate,up,down}_proj/MatMul}
 * (RMSNorm before attention and MLP, single-head attention over the real tokens, SiLU-gated MLP, residuals), in float32, float16 or bfloat16, its
 * weights in the file or in an external data file ({@code model.onnx_data}, written as generated, never held
 * whole); a word-level {@code tokenizer.json}; task LoRAs of given ranks; and per task a file of texts. For the
 * tests of large-model loading and for {@code bench scale --llm}.
 */
public final class TinyLlama {
    /** Sizes and the weights' element type. */
    public record Shape(int vocab, int hidden, int intermediate, int layers, int positions, DType dtype, boolean external) {
        public long parameters() {
            long perLayer = 4L * hidden * hidden + 3L * hidden * intermediate;
            return (long) vocab * hidden * 2 + (long) positions * hidden + layers * perLayer;
        }
    }

    public static final String MODEL = "model.onnx";
    public static final String DATA = "model.onnx_data";
    public static final String TOKENIZER = "tokenizer.json";
    static final double MASK = -10000;
    static final double RMS_EPS = 1e-5;

    private TinyLlama() {
    }

    /** What {@link #writeExample} wrote: the model, the adapters and the texts, task by task. */
    public record Example(Path model, Path tokenizer, List<String> tasks, List<Path> adapters, List<Path> texts) {
    }

    /**
     * A whole example in {@code dir}: {@code model/} (model.onnx, its external data, tokenizer.json), one LoRA per rank
     * in {@code adapters/task<i>} on the given module kinds, and {@code texts/task<i>.txt}.
     */
    public static Example writeExample(Path dir, Shape s, List<Integer> ranks, List<String> kinds, int texts, long seed) {
        Path model = writeModel(dir.resolve("model"), s, seed);
        List<String> tasks = new ArrayList<>();
        List<Path> adapters = new ArrayList<>();
        List<Path> textFiles = new ArrayList<>();
        for (int i = 0; i < ranks.size(); i++) {
            String task = "task" + i;
            tasks.add(task);
            Path a = dir.resolve("adapters").resolve(task);
            writeAdapter(a, s, kinds, ranks.get(i), seed * 31 + i + 1);
            adapters.add(a);
            textFiles.add(writeTexts(dir.resolve("texts").resolve(task + ".txt"), s, i, ranks.size(), texts, seed * 17 + i));
        }
        return new Example(model, model.resolveSibling(TOKENIZER), tasks, adapters, textFiles);
    }

    /** Names of a layer's projections, as PEFT names the modules. */
    public static List<String> modules(int layer) {
        String p = "model.layers." + layer + ".";
        return List.of(p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj", p + "self_attn.o_proj",
                p + "mlp.gate_proj", p + "mlp.up_proj", p + "mlp.down_proj");
    }

    /** Writes {@code dir/model.onnx} (and {@code model.onnx_data} when external) and {@code dir/tokenizer.json}. */
    public static Path writeModel(Path dir, Shape s, long seed) {
        try {
            Files.createDirectories(dir);
            return new Writer(dir, s, new SplittableRandom(seed)).write();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the model in " + dir, e);
        }
    }

    /** A task LoRA of rank {@code r} on the given module kinds (e.g. q_proj, v_proj) of every layer; scale alpha/r = 2. */
    public static void writeAdapter(Path dir, Shape s, List<String> kinds, int r, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, LoraModule> factors = new LinkedHashMap<>();
        for (int l = 0; l < s.layers(); l++) {
            for (String m : modules(l)) {
                String kind = m.substring(m.lastIndexOf('.') + 1);
                if (!kinds.contains(kind)) {
                    continue;
                }
                int in = kind.equals("down_proj") ? s.intermediate() : s.hidden();
                int out = kind.equals("gate_proj") || kind.equals("up_proj") ? s.intermediate() : s.hidden();
                INDArray a = Matrices.of(DemoExample.gaussian(rng, r * in, 1 / Math.sqrt(in)), r, in);
                INDArray b = Matrices.of(DemoExample.gaussian(rng, out * r, 0.2 / Math.sqrt(r)), out, r);
                factors.put(m, new LoraModule(m, a, b, 2.0));
            }
        }
        PeftAdapterWriter.write(dir, factors, r, 2.0 * r, kinds, "iteris/tiny-llama");
    }

    /**
     * {@code count} texts of a task, one per line: words of the tokenizer's vocabulary, each task favouring its own
     * band of it, so tasks differ as real ones do.
     */
    public static Path writeTexts(Path file, Shape s, int task, int tasks, int count, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        int words = s.vocab() - 2;
        int band = Math.max(1, words / Math.max(1, tasks));
        for (int i = 0; i < count; i++) {
            int len = 3 + rng.nextInt(6);
            for (int w = 0; w < len; w++) {
                int id = rng.nextInt(4) == 0 ? rng.nextInt(words) : (task * band + rng.nextInt(band)) % words;
                sb.append(w == 0 ? "" : " ").append(word(id));
            }
            sb.append('\n');
        }
        AtomicFiles.writeString(file, sb.toString());
        return file;
    }

    static String word(int i) {
        return "w" + i;
    }

    /** Builds the graph while streaming the weights out. */
    private static final class Writer {
        final Path dir;
        final Shape s;
        final SplittableRandom rng;
        final int type;
        final Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("tiny-llama");
        FileChannel data;
        long offset;
        int generated;

        Writer(Path dir, Shape s, SplittableRandom rng) {
            this.dir = dir;
            this.s = s;
            this.rng = rng;
            this.type = switch (s.dtype()) {
                case F32 -> Onnx.TensorProto.DataType.FLOAT_VALUE;
                case F16 -> Onnx.TensorProto.DataType.FLOAT16_VALUE;
                case BF16 -> Onnx.TensorProto.DataType.BFLOAT16_VALUE;
                default -> throw new IllegalArgumentException("weights are float32, float16 or bfloat16, not " + s.dtype());
            };
        }

        Path write() throws IOException {
            if (s.external()) {
                data = FileChannel.open(dir.resolve(DATA), StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            }
            try {
                graph();
            } finally {
                if (data != null) {
                    data.force(true);
                    data.close();
                }
            }
            Onnx.ModelProto model = Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName("iteris TinyLlama")
                    .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17)).setGraph(g).build();
            Path file = dir.resolve(MODEL);
            AtomicFiles.write(file, out -> model.writeTo(out));
            AtomicFiles.writeString(dir.resolve(TOKENIZER), tokenizer(s.vocab()));
            return file;
        }

        void graph() throws IOException {
            int h = s.hidden();
            g.addInput(valueInfo("input_ids", Onnx.TensorProto.DataType.INT64_VALUE));
            g.addInput(valueInfo("attention_mask", Onnx.TensorProto.DataType.INT64_VALUE));
            g.addInput(valueInfo("position_ids", Onnx.TensorProto.DataType.INT64_VALUE));
            g.addOutput(valueInfo("logits", type));
            weight("model.embed_tokens.weight", s.vocab(), h, 1.0);
            weight("model.embed_positions.weight", s.positions(), h, 0.5);
            constant("one", 1);
            constant("mask_value", MASK);
            constant("attn_scale", 1 / Math.sqrt(h));
            constant("rms_eps", RMS_EPS);
            g.addInitializer(Onnx.TensorProto.newBuilder().setName("unsqueeze_axes").setDataType(Onnx.TensorProto.DataType.INT64_VALUE)
                    .addDims(1).addInt64Data(1));
            g.addInitializer(Onnx.TensorProto.newBuilder().setName("heads_merged_shape").setDataType(Onnx.TensorProto.DataType.INT64_VALUE)
                    .addDims(3).addInt64Data(0).addInt64Data(0).addInt64Data(h));
            node("Gather", "/model/embed_tokens/Gather", List.of("model.embed_tokens.weight", "input_ids"), "tok");
            node("Gather", "/model/embed_positions/Gather", List.of("model.embed_positions.weight", "position_ids"), "pos");
            node("Add", "/model/Add", List.of("tok", "pos"), "h0");
            g.addNode(Onnx.NodeProto.newBuilder().setOpType("Cast").setName("/model/Cast").addInput("attention_mask").addOutput("mask_f")
                    .addAttribute(Onnx.AttributeProto.newBuilder().setName("to").setType(Onnx.AttributeProto.AttributeType.INT).setI(type)));
            node("Sub", "/model/Sub", List.of("one", "mask_f"), "mask_inv");
            node("Mul", "/model/Mul", List.of("mask_inv", "mask_value"), "mask_bias2");
            node("Unsqueeze", "/model/Unsqueeze", List.of("mask_bias2", "unsqueeze_axes"), "mask_bias");
            String x = "h0";
            for (int l = 0; l < s.layers(); l++) {
                x = layer(l, x);
            }
            String last = rmsNorm("/model/norm", "model.norm.weight", x);
            weight("lm_head.weight_T", h, s.vocab(), 1 / Math.sqrt(h));
            node("MatMul", "/lm_head/MatMul", List.of(last, "lm_head.weight_T"), "logits");
        }

        /** One decoder block; returns its output's name. */
        String layer(int l, String x) throws IOException {
            int h = s.hidden();
            int f = s.intermediate();
            String p = "/model/layers." + l;
            String xn = rmsNorm(p + "/input_layernorm", "model.layers." + l + ".input_layernorm.weight", x);
            String q = projection(p + "/self_attn/q_proj", xn, h, h);
            String k = projection(p + "/self_attn/k_proj", xn, h, h);
            String v = projection(p + "/self_attn/v_proj", xn, h, h);
            g.addNode(Onnx.NodeProto.newBuilder().setOpType("Transpose").setName(p + "/self_attn/Transpose").addInput(k).addOutput(p + "/kT")
                    .addAttribute(Onnx.AttributeProto.newBuilder().setName("perm").setType(Onnx.AttributeProto.AttributeType.INTS)
                            .addInts(0).addInts(2).addInts(1)));
            node("MatMul", p + "/self_attn/MatMul", List.of(q, p + "/kT"), p + "/scores");
            node("Mul", p + "/self_attn/Mul", List.of(p + "/scores", "attn_scale"), p + "/scaled");
            node("Add", p + "/self_attn/Add", List.of(p + "/scaled", "mask_bias"), p + "/masked");
            g.addNode(Onnx.NodeProto.newBuilder().setOpType("Softmax").setName(p + "/self_attn/Softmax").addInput(p + "/masked")
                    .addOutput(p + "/probs").addAttribute(Onnx.AttributeProto.newBuilder().setName("axis")
                            .setType(Onnx.AttributeProto.AttributeType.INT).setI(-1)));
            node("MatMul", p + "/self_attn/MatMul_1", List.of(p + "/probs", v), p + "/context");
            // as exporters merge the heads back: a Reshape whose shape (an initializer) shape inference must read
            node("Reshape", p + "/self_attn/Reshape", List.of(p + "/context", "heads_merged_shape"), p + "/merged");
            String o = projection(p + "/self_attn/o_proj", p + "/merged", h, h);
            node("Add", p + "/Add", List.of(x, o), p + "/h1");
            String hn = rmsNorm(p + "/post_attention_layernorm", "model.layers." + l + ".post_attention_layernorm.weight", p + "/h1");
            String gate = projection(p + "/mlp/gate_proj", hn, h, f);
            String up = projection(p + "/mlp/up_proj", hn, h, f);
            node("Sigmoid", p + "/mlp/act_fn/Sigmoid", List.of(gate), p + "/sig");
            node("Mul", p + "/mlp/act_fn/Mul", List.of(gate, p + "/sig"), p + "/silu");
            node("Mul", p + "/mlp/Mul", List.of(p + "/silu", up), p + "/gated");
            String down = projection(p + "/mlp/down_proj", p + "/gated", f, h);
            node("Add", p + "/Add_1", List.of(p + "/h1", down), p + "/h2");
            return p + "/h2";
        }

        /** RMSNorm as LLaMA has it: x / sqrt(mean(x²) + eps) · gain (a gain near 1, of its own per norm). */
        String rmsNorm(String name, String gain, String x) throws IOException {
            g.addInitializer(Onnx.TensorProto.newBuilder().setName(gain).setDataType(type).addDims(s.hidden())
                    .setRawData(ByteString.copyFrom(encode(gains(s.hidden())))));
            node("Mul", name + "/Pow", List.of(x, x), name + "/sq");
            g.addNode(Onnx.NodeProto.newBuilder().setOpType("ReduceMean").setName(name + "/ReduceMean").addInput(name + "/sq")
                    .addOutput(name + "/ms").addAttribute(Onnx.AttributeProto.newBuilder().setName("axes")
                            .setType(Onnx.AttributeProto.AttributeType.INTS).addInts(-1)));
            node("Add", name + "/Add", List.of(name + "/ms", "rms_eps"), name + "/mse");
            node("Sqrt", name + "/Sqrt", List.of(name + "/mse"), name + "/rms");
            node("Div", name + "/Div", List.of(x, name + "/rms"), name + "/normed");
            node("Mul", name + "/Mul", List.of(name + "/normed", gain), name + "/out");
            return name + "/out";
        }

        double[] gains(int n) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = 1 + 0.1 * rng.nextGaussian();
            }
            return v;
        }

        /** A projection MatMul with its weight [in, out] under an exporter's generated name; returns the output's name. */
        String projection(String module, String input, int in, int out) throws IOException {
            String w = "onnx::MatMul_" + (1000 + generated++);
            weight(w, in, out, 1 / Math.sqrt(in));
            node("MatMul", module + "/MatMul", List.of(input, w), module + "/MatMul_output_0");
            return module + "/MatMul_output_0";
        }

        void node(String op, String name, List<String> inputs, String output) {
            g.addNode(Onnx.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output));
        }

        void constant(String name, double value) {
            Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(type);
            g.addInitializer(t.setRawData(ByteString.copyFrom(encode(new double[]{value}))));
        }

        /** A random [rows, cols] weight of standard deviation {@code std}, written to the external file or into the graph. */
        void weight(String name, int rows, int cols, double std) throws IOException {
            Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(type).addDims(rows).addDims(cols);
            long bytes = 0;
            for (int r = 0; r < rows; r += 256) {
                int n = Math.min(256, rows - r) * cols;
                byte[] chunk = encode(DemoExample.gaussian(rng, n, std));
                if (data != null) {
                    data.write(ByteBuffer.wrap(chunk), offset + bytes);
                } else {
                    t.setRawData(t.getRawData().concat(ByteString.copyFrom(chunk)));
                }
                bytes += chunk.length;
            }
            if (data != null) {
                t.setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", DATA))
                        .addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Long.toString(bytes)));
                offset += bytes;
            }
            g.addInitializer(t);
        }

        byte[] encode(double[] v) {
            ByteBuffer b = ByteBuffer.allocate(v.length * s.dtype().bytes()).order(ByteOrder.LITTLE_ENDIAN);
            for (double x : v) {
                switch (s.dtype()) {
                    case F32 -> b.putFloat((float) x);
                    case F16 -> b.putShort(HalfFloats.floatToHalf((float) x));
                    default -> b.putShort(HalfFloats.floatToBf16((float) x));
                }
            }
            return b.array();
        }
    }

    private static Onnx.StringStringEntryProto entry(String key, String value) {
        return Onnx.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static Onnx.ValueInfoProto valueInfo(String name, int elemType) {
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(elemType))).build();
    }

    /** A Hugging Face tokenizer.json: word level, lower case, split on white space; [PAD] = 0, [UNK] = 1, w0, w1, ... */
    static String tokenizer(int vocab) {
        List<String> entries = new ArrayList<>(List.of("\"[PAD]\":0", "\"[UNK]\":1"));
        for (int i = 0; i + 2 < vocab; i++) {
            entries.add("\"" + word(i) + "\":" + (i + 2));
        }
        return "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":["
                + "{\"id\":0,\"content\":\"[PAD]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
                + "{\"id\":1,\"content\":\"[UNK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
                + "\"normalizer\":{\"type\":\"Lowercase\"},\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"post_processor\":null,\"decoder\":null,"
                + "\"model\":{\"type\":\"WordLevel\",\"vocab\":{" + String.join(",", entries) + "},\"unk_token\":\"[UNK]\"}}\n";
    }
}
