package io.iteris.actors.engine;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.node.IterisNode;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.demo.ExternalDataLayout;
import io.iteris.core.demo.TinyLlama;
import io.iteris.core.model.onnx.OnnxModelFile;
import io.iteris.core.model.TextCalibration;
import io.iteris.core.safetensors.DType;
import io.iteris.core.engine.Merger;
import io.iteris.core.engine.MergeOutcome;
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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A transformer merge on the actor engine: the shipped text LoRAs on all-MiniLM-L6-v2 (ONNX Runtime in the
 * inference workers, token-id calibration sharded across them) give the local engine's result bit for bit.
 */
class OnnxActorEngineTest {
    @TempDir
    Path tmp;

    private MergeSettings settings(Path model, Path out) {
        Path example = Path.of("../examples/text").toAbsolutePath().normalize();
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", "iteris");
        m.put("iteris.merge.base", model.toString());
        m.put("iteris.merge.calibration", example.resolve("calibration.safetensors").toString());
        m.put("iteris.merge.out", out.toString());
        m.put("iteris.merge.shard-size", 16);
        m.put("iteris.methods.iteris.iterations", 2);
        m.put("iteris.merge.adapters", List.of("spam", "topic", "names").stream()
                .map(t -> Map.of("name", t, "path", example.resolve("adapters").resolve(t).toString())).toList());
        return MergeSettings.from(ConfigFactory.parseMap(m));
    }

    @Test
    void theActorEngineMergesTheTextLorasExactlyAsTheLocalEngineDoes() throws Exception {
        Path model = tmp.resolve("all-minilm-l6-v2.onnx");
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            Files.copy(in, model);
        }
        MergeOutcome local = Merger.run(settings(model, tmp.resolve("local")), null).outcome();
        MergeOutcome actors;
        try (IterisNode node = ActorEngineTest.node(tmp.resolve("work"), 2)) {
            actors = new ActorEngine(node).merge(settings(model, tmp.resolve("actors")), null);
        }
        assertEquals(12, local.deltas().size(), "query and value of six layers");
        for (Map.Entry<String, INDArray> e : local.deltas().entrySet()) {
            assertArrayEquals(e.getValue().data().asDouble(), actors.deltas().get(e.getKey()).data().asDouble(), e.getKey());
        }
        assertTrue(Files.isRegularFile(tmp.resolve("actors/adapter_model.safetensors")));
    }

    /**
     * A LLaMA-shaped decoder whose weights are external data, three LoRAs of ranks 2, 4 and 6 on q_proj and v_proj,
     * calibration from plain text through its tokenizer.json, written as our generator writes it and again in every
     * layout exporters use ({@link ExternalDataLayout.Layout#all()}: in the graph, one data file, a file per tensor,
     * every tensor external, the data in a sub-folder, shapes and scalars as Constant nodes with external tensors):
     * each merges on both engines to the same published bytes.
     */
    @Test
    void aLlamaShapedModelMergesAlikeOnBothEnginesInEveryExternalDataLayout() throws Exception {
        TinyLlama.Example ex = TinyLlama.writeExample(tmp.resolve("llama"), new TinyLlama.Shape(64, 16, 32, 2, 32, DType.F32, true),
                List.of(2, 4, 6), List.of("q_proj", "v_proj"), 24, 9);
        List<TextCalibration.Task> tasks = new java.util.ArrayList<>();
        for (int i = 0; i < ex.tasks().size(); i++) {
            tasks.add(new TextCalibration.Task(ex.tasks().get(i), ex.texts().get(i)));
        }
        Path calibration = TextCalibration.write(ex.tokenizer(), tasks, 12, null, tmp.resolve("llama/calibration.safetensors"));
        java.util.function.BiFunction<Path, Path, MergeSettings> settings = (model, out) -> {
            Map<String, Object> m = new HashMap<>();
            m.put("iteris.merge.base", model.toString());
            m.put("iteris.merge.calibration", calibration.toString());
            m.put("iteris.merge.out", out.toString());
            m.put("iteris.merge.shard-size", 8);
            m.put("iteris.methods.iteris.iterations", 3);
            List<Map<String, Object>> adapters = new java.util.ArrayList<>();
            for (int i = 0; i < ex.tasks().size(); i++) {
                adapters.add(Map.of("name", ex.tasks().get(i), "path", ex.adapters().get(i).toString()));
            }
            m.put("iteris.merge.adapters", adapters);
            return MergeSettings.from(ConfigFactory.parseMap(m));
        };
        Map<String, Path> models = new LinkedHashMap<>();
        models.put("generated", ex.model());
        OnnxModelFile generated = OnnxModelFile.open(ex.model());
        for (ExternalDataLayout.Layout layout : ExternalDataLayout.Layout.all()) {
            models.put(layout.name(), ExternalDataLayout.write(generated, tmp.resolve("layouts").resolve(layout.name()), layout));
        }
        Map<String, byte[]> published = new LinkedHashMap<>();
        try (IterisNode node = ActorEngineTest.node(tmp.resolve("llama-work"), 2)) {
            for (Map.Entry<String, Path> m : models.entrySet()) {
                Path local = tmp.resolve("local-" + m.getKey());
                Path actors = tmp.resolve("actors-" + m.getKey());
                MergeOutcome l = Merger.run(settings.apply(m.getValue(), local), null).outcome();
                MergeOutcome a = new ActorEngine(node).merge(settings.apply(m.getValue(), actors), null);
                assertEquals(4, l.deltas().size(), "q_proj and v_proj of two layers");
                for (Map.Entry<String, INDArray> e : l.deltas().entrySet()) {
                    assertArrayEquals(e.getValue().data().asDouble(), a.deltas().get(e.getKey()).data().asDouble(), m.getKey() + " " + e.getKey());
                }
                byte[] bytes = Files.readAllBytes(local.resolve("adapter_model.safetensors"));
                assertArrayEquals(bytes, Files.readAllBytes(actors.resolve("adapter_model.safetensors")), m.getKey() + ": local against actors");
                published.put(m.getKey(), bytes);
            }
        }
        // every layout with external data publishes the generator's bytes (in the graph: within float32 tolerance, ExternalDataLayoutTest)
        for (String name : List.of("one-file", "per-tensor", "all-external", "sub-folder", "constant-nodes")) {
            assertArrayEquals(published.get("generated"), published.get(name), name + " against the generated layout");
        }
    }
}
