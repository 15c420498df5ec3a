package io.iteris.actors.engine;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.node.IterisNode;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.engine.Merger;
import io.iteris.core.engine.MergeOutcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
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
}
