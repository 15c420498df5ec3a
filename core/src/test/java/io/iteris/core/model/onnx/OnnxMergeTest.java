package io.iteris.core.model.onnx;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.peft.PeftAdapterWriter;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code iteris merge} on a real transformer: the base is MiniLM's ONNX export, the calibration is token ids,
 * and IterIS runs through ONNX Runtime.
 */
class OnnxMergeTest {
    @TempDir
    static Path dir;
    static Path model;
    static WordPieceTokenizer tokenizer;
    static final List<String> TEXTS = List.of("the quick brown fox jumps over the lazy dog", "merge adapters without sharing data",
            "spam: win a free prize now", "a fortune about computers and science", "hello", "tokenization of longer sentences works too");

    @BeforeAll
    static void setUp() throws Exception {
        model = dir.resolve("minilm.onnx");
        try (InputStream in = OnnxMergeTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            Files.copy(in, model);
        }
        try (InputStream in = OnnxMergeTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            tokenizer = WordPieceTokenizer.read(in, "tokenizer.json");
        }
        OnnxTensorSource base = OnnxTensorSource.open(model);
        for (int task = 0; task < 2; task++) {
            SplittableRandom rng = new SplittableRandom(task);
            Map<String, LoraModule> lora = new LinkedHashMap<>();
            for (int l = 0; l < 6; l++) {
                for (String t : List.of("query", "value")) {
                    String m = "encoder.layer." + l + ".attention.self." + t;
                    assertEquals(List.of(384L, 384L), java.util.Arrays.stream(base.info(m + ".weight").shape()).boxed().toList());
                    lora.put(m, new LoraModule(m, random(rng, 4, 384, 0.05), random(rng, 384, 4, 0.05), 2.0));
                }
            }
            PeftAdapterWriter.write(dir.resolve("adapters/task" + task), lora, 4, 8, List.of("query", "value"), "minilm");
        }
    }

    private static INDArray random(SplittableRandom rng, int rows, int cols, double scale) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian() * scale;
        }
        return Matrices.of(v, rows, cols);
    }

    /** Calibration for both tasks: ids with −1 padding (I32), or I64 ids with an attention mask; {@code extra} more padding. */
    private static Path calibration(String name, boolean withMask, int extra) {
        SafetensorsWriter w = new SafetensorsWriter();
        for (int task = 0; task < 2; task++) {
            List<String> texts = TEXTS.subList(task * 2, task * 2 + 4);
            List<long[]> seqs = texts.stream().map(t -> tokenizer.encode(t, 32)).toList();
            int len = seqs.stream().mapToInt(s -> s.length).max().orElseThrow() + extra;
            double[] ids = new double[seqs.size() * len];
            double[] mask = new double[ids.length];
            for (int s = 0; s < seqs.size(); s++) {
                for (int t = 0; t < len; t++) {
                    boolean real = t < seqs.get(s).length;
                    ids[s * len + t] = real ? seqs.get(s)[t] : (withMask ? 0 : -1);
                    mask[s * len + t] = real ? 1 : 0;
                }
            }
            long[] shape = {seqs.size(), len};
            w.add("task" + task + ".input_ids", withMask ? DType.I64 : DType.I32, shape, ids);
            if (withMask) {
                w.add("task" + task + ".attention_mask", DType.I64, shape, mask);
            }
        }
        Path file = dir.resolve(name);
        w.write(file);
        return file;
    }

    private static MergeSettings settings(Path calibration, Path out, String method) {
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", method);
        m.put("iteris.merge.base", model.toString());
        m.put("iteris.merge.calibration", calibration.toString());
        m.put("iteris.merge.out", out.toString());
        m.put("iteris.methods.iteris.iterations", 2);
        m.put("iteris.merge.adapters", List.of(
                Map.of("name", "task0", "path", dir.resolve("adapters/task0").toString()),
                Map.of("name", "task1", "path", dir.resolve("adapters/task1").toString())));
        return MergeSettings.from(ConfigFactory.parseMap(m));
    }

    @Test
    void mergesOnTheOnnxModelAndPaddingDoesNotChangeTheResult() {
        Merger.Result plain = Merger.run(settings(calibration("cal-plain.safetensors", false, 0), dir.resolve("out-plain"), "iteris"), null);
        assertTrue(Files.isRegularFile(dir.resolve("out-plain/adapter_model.safetensors")));
        assertEquals(12, plain.outcome().deltas().size());
        assertEquals(2, plain.outcome().iterations().size(), "two IterIS solves, each after an ONNX Runtime pass");
        // The same texts with four more padding positions, given as an attention mask over I64 ids: padding rows
        // are left out of the statistics, so only float32 rounding in ONNX Runtime may differ.
        Merger.Result padded = Merger.run(settings(calibration("cal-masked.safetensors", true, 4), dir.resolve("out-masked"), "iteris"), null);
        for (String layer : plain.outcome().deltas().keySet()) {
            INDArray a = plain.outcome().deltas().get(layer);
            INDArray b = padded.outcome().deltas().get(layer);
            double rel = a.sub(b).norm2Number().doubleValue() / a.norm2Number().doubleValue();
            assertTrue(rel < 1e-4, layer + ": padding changed the merge by " + rel);
        }
        // And the merge is not a no-op: it differs from the plain average of the two deltas.
        Merger.Result average = Merger.run(settings(calibration("cal-avg.safetensors", false, 0), dir.resolve("out-avg"), "average"), null);
        String layer = "encoder.layer.3.attention.self.value";
        double diff = plain.outcome().deltas().get(layer).sub(average.outcome().deltas().get(layer)).norm2Number().doubleValue();
        assertTrue(diff > 1e-3 * average.outcome().deltas().get(layer).norm2Number().doubleValue(), "IterIS differs from the average");
    }

    @Test
    void badTokenIdsAreRefusedByName() {
        SafetensorsWriter w = new SafetensorsWriter();
        w.add("task0.input_ids", DType.F32, new long[]{1, 3}, new double[]{101, 2000, 102});
        w.add("task1.input_ids", DType.I32, new long[]{1, 3}, new double[]{101, -7, 102});
        Path file = dir.resolve("cal-bad.safetensors");
        w.write(file);
        Exception e = assertThrows(RuntimeException.class, () -> Merger.run(settings(file, dir.resolve("out-bad"), "iteris"), null));
        assertTrue(e.getMessage().contains("task0.input_ids") && e.getMessage().contains("integer"), e.getMessage());
        assertTrue(Files.notExists(dir.resolve("out-bad")), "nothing half-written");

        // MiniLM's vocabulary has 30522 tokens: an id past it is named with the tensor and the vocabulary
        SafetensorsWriter outside = new SafetensorsWriter();
        outside.add("task0.input_ids", DType.I32, new long[]{1, 3}, new double[]{101, 2000, 102});
        outside.add("task1.input_ids", DType.I64, new long[]{1, 3}, new double[]{101, 40000, 102});
        Path other = dir.resolve("cal-vocab.safetensors");
        outside.write(other);
        Exception v = assertThrows(RuntimeException.class, () -> Merger.run(settings(other, dir.resolve("out-vocab"), "iteris"), null));
        assertTrue(v.getMessage().contains("cal-vocab.safetensors") && v.getMessage().contains("task1.input_ids")
                && v.getMessage().contains("40000") && v.getMessage().contains("30522 tokens"), v.getMessage());
        assertTrue(Files.notExists(dir.resolve("out-vocab")), "nothing half-written");
    }
}
