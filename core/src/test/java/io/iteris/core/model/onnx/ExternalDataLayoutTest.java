package io.iteris.core.model.onnx;

import io.iteris.core.demo.ExternalDataLayout;
import io.iteris.core.demo.ExternalDataLayout.Layout;
import io.iteris.core.demo.TinyLlama;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsException;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One LLaMA-shaped graph written in every external-data layout exporters use (everything in the graph, the onnx
 * package's default, one file per tensor, every tensor external down to the Unsqueeze's axes, the data in a
 * sub-folder): each merges on the local engine, and the external layouts publish the same bytes. Bad external
 * entries are refused when the model is opened, naming the model, the tensor and the data file.
 */
class ExternalDataLayoutTest {
    static final TinyLlama.Shape SHAPE = new TinyLlama.Shape(64, 16, 32, 2, 32, DType.F32, false);

    @TempDir
    Path tmp;

    /** The example with its model written again in {@code layout}. */
    static TinyLlama.Example inLayout(TinyLlama.Example ex, Path dir, Layout layout) {
        Path model = ExternalDataLayout.write(OnnxModelFile.open(ex.model()), dir.resolve(layout.name()), layout);
        return new TinyLlama.Example(model, model.resolveSibling(TinyLlama.TOKENIZER), ex.tasks(), ex.adapters(), ex.texts());
    }

    @Test
    void everyLayoutMergesAndTheExternalOnesPublishTheSameBytes() throws Exception {
        TinyLlama.Example ex = TinyLlama.writeExample(tmp.resolve("ex"), SHAPE, List.of(2, 4, 6), List.of("q_proj", "v_proj"), 24, 3);
        Path calibration = TinyLlamaMergeTest.calibration(ex, tmp);
        Map<String, byte[]> published = new LinkedHashMap<>();
        Map<String, Map<String, INDArray>> deltas = new LinkedHashMap<>();
        for (Layout layout : Layout.all()) {
            TinyLlama.Example e = inLayout(ex, tmp.resolve("layouts"), layout);
            OnnxModelFile file = OnnxModelFile.open(e.model());
            long external = file.initializers().values().stream().filter(OnnxModelFile::external).count();
            long all = file.initializers().size();
            switch (layout.name()) {
                case "inside" -> assertEquals(0, external, "inside");
                case "all-external", "sub-folder" -> assertEquals(all, external, layout.name() + ": every initializer external");
                case "constant-nodes" -> {
                    assertEquals(all, external, layout.name() + ": every initializer external");
                    assertEquals(6, file.constants().size(), "four scalars, the axes and the shape as Constant nodes");
                    assertTrue(file.constants().values().stream().allMatch(OnnxModelFile::external), "their tensors external too");
                }
                default -> assertTrue(external > 0 && external < all, layout.name() + ": weights external, small tensors inside");
            }
            if (layout.name().equals("all-external")) {
                Onnx.TensorProto axes = file.initializers().get("unsqueeze_axes");
                assertTrue(OnnxModelFile.external(axes), "the Unsqueeze's axes, which shape inference reads, are external");
            }
            Path out = tmp.resolve("out-" + layout.name());
            Merger.Result r = Merger.run(TinyLlamaMergeTest.settings(e, calibration, out), null);
            deltas.put(layout.name(), r.outcome().deltas());
            published.put(layout.name(), Files.readAllBytes(out.resolve("adapter_model.safetensors")));
        }
        byte[] reference = published.get("one-file");
        published.forEach((name, bytes) -> {
            if (!name.equals("inside")) {
                assertArrayEquals(reference, bytes, name + " against one-file");
            }
        });
        // with the weights inside the graph ONNX Runtime pre-packs them (external ones it maps): float32 sums may round apart
        double worst = 0;
        for (String layer : deltas.get("inside").keySet()) {
            worst = Math.max(worst, Matrices.relativeError(deltas.get("inside").get(layer), deltas.get("one-file").get(layer)));
        }
        assertTrue(worst < TinyLlamaMergeTest.F32_TOLERANCE, "inside against external: " + worst);
        System.out.printf("external-data layouts: %s publish identical bytes; inside the graph, max relative error of dW %.2e%n",
                published.keySet().stream().filter(n -> !n.equals("inside")).toList(), worst);
    }

    /** A copy of {@code model} (all-external) with one entry of one initializer's external data changed. */
    private static Path broken(Path model, String tensor, String key, String value) throws Exception {
        Onnx.ModelProto proto = Onnx.ModelProto.parseFrom(Files.readAllBytes(model));
        Onnx.GraphProto.Builder g = proto.getGraph().toBuilder();
        UnaryOperator<Onnx.TensorProto> change = t -> {
            Onnx.TensorProto.Builder b = t.toBuilder().clearExternalData();
            t.getExternalDataList().forEach(kv -> b.addExternalData(kv.getKey().equals(key) ? kv.toBuilder().setValue(value).build() : kv));
            return b.build();
        };
        for (int i = 0; i < g.getInitializerCount(); i++) {
            if (g.getInitializer(i).getName().equals(tensor)) {
                g.setInitializer(i, change.apply(g.getInitializer(i)));
            }
        }
        for (int i = 0; i < g.getNodeCount(); i++) {
            Onnx.NodeProto n = g.getNode(i);
            if (n.getOpType().equals("Constant") && n.getOutput(0).equals(tensor)) {
                g.setNode(i, n.toBuilder().setAttribute(0, n.getAttribute(0).toBuilder().setT(change.apply(n.getAttribute(0).getT()))));
            }
        }
        Path out = model.resolveSibling("broken.onnx");
        Files.write(out, proto.toBuilder().setGraph(g).build().toByteArray());
        return out;
    }

    @Test
    void badLocationsOffsetsAndLengthsAreRefusedWhenTheModelIsOpenedNamingTensorAndFile() throws Exception {
        TinyLlama.Example ex = TinyLlama.writeExample(tmp.resolve("ex"), new TinyLlama.Shape(16, 8, 8, 1, 8, DType.F32, false),
                List.of(2, 2), List.of("q_proj"), 8, 5);
        Path model = inLayout(ex, tmp, Layout.SUB_FOLDER).model();
        Path constants = inLayout(ex, tmp, Layout.CONSTANT_NODES).model();
        long constantsSize = Files.size(constants.resolveSibling(TinyLlama.DATA));
        long size = Files.size(model.resolveSibling("weights/" + TinyLlama.DATA));
        Files.write(tmp.resolve("escape.bin"), new byte[(int) size]);
        // a small tensor only ONNX Runtime reads (the RMSNorm gain), and the Reshape's shape that shape inference reads
        String gain = "model.norm.weight";
        String shape = "heads_merged_shape";
        record Bad(String tensor, String key, String value, String says, String file, boolean constant) {
            Bad(String tensor, String key, String value, String says, String file) {
                this(tensor, key, value, says, file, false);
            }
        }
        List<Bad> bad = List.of(
                new Bad(gain, "location", "../escape.bin", "outside the model's directory", "../escape.bin"),
                new Bad(gain, "location", "weights/../../escape.bin", "outside the model's directory", "weights/../../escape.bin"),
                new Bad(gain, "location", tmp.resolve("escape.bin").toString(), "outside the model's directory", "escape.bin"),
                new Bad(shape, "location", "weights/missing.bin", "does not exist", "weights/missing.bin"),
                new Bad(gain, "offset", Long.toString(size), "which has only " + size, "weights/" + TinyLlama.DATA),
                new Bad(shape, "offset", Long.toString(size - 8), "which has only " + size, "weights/" + TinyLlama.DATA),
                new Bad(gain, "offset", "9223372036854775800", "which has only " + size, "weights/" + TinyLlama.DATA),
                new Bad(gain, "offset", "-4", "offset '-4'", "weights/" + TinyLlama.DATA),
                new Bad(shape, "length", "16", "should take 24 bytes", "weights/" + TinyLlama.DATA),
                // the same checks for a Constant node's tensor
                new Bad(shape, "location", "../escape.bin", "outside the model's directory", "../escape.bin", true),
                new Bad(shape, "offset", Long.toString(constantsSize - 8), "which has only " + constantsSize, TinyLlama.DATA, true));
        Path calibration = TinyLlamaMergeTest.calibration(ex, tmp);
        for (Bad b : bad) {
            Path file = broken(b.constant() ? constants : model, b.tensor(), b.key(), b.value());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> OnnxModelFile.open(file), b.toString());
            String m = e.getMessage();
            assertTrue(m.contains("broken.onnx") && m.contains("'" + b.tensor() + "'") && m.contains(b.says()) && m.contains(b.file()),
                    b + ": " + m);
            // a merge of it is refused before anything is written
            Path out = tmp.resolve("out");
            TinyLlama.Example e2 = new TinyLlama.Example(file, ex.tokenizer(), ex.tasks(), ex.adapters(), ex.texts());
            RuntimeException refused = assertThrows(RuntimeException.class,
                    () -> Merger.run(TinyLlamaMergeTest.settings(e2, calibration, out), null), b.toString());
            assertTrue(refused.getMessage().contains("'" + b.tensor() + "'"), refused.getMessage());
            assertFalse(Files.exists(out), "nothing published for " + b);
        }
    }
}
