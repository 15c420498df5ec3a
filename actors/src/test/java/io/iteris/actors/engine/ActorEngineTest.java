package io.iteris.actors.engine;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.cluster.IterisNode;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.vectors.E2eCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ActorEngineTest {
    @TempDir
    Path tmp;

    static IterisNode node(Path workDir, int workers) {
        return IterisNode.start(ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.canonical.port", 0,
                "iteris.engine.workers-per-node", workers,
                "iteris.engine.work-dir", workDir.toString())));
    }

    @Test
    void oneNodeMergeIsBitIdenticalToTheLocalEngine() {
        E2eCase e2e = E2eCase.open(TestData.vectors("e2e_mlp_feedback"));
        List<Map<String, INDArray>> local = new ArrayList<>();
        MergeOutcome expected = MergeEngine.LOCAL.merge(e2e.iterisSettings("default", 2, tmp.resolve("local")), (r, m) -> local.add(m));
        try (IterisNode node = node(tmp.resolve("work"), 2)) {
            node.awaitUp(Duration.ofSeconds(30));
            List<Map<String, INDArray>> actor = new ArrayList<>();
            MergeOutcome got = new ActorEngine(node).merge(e2e.iterisSettings("default", 2, tmp.resolve("out")), (r, m) -> actor.add(m));
            assertEquals(local.size(), actor.size());
            for (int k = 0; k < local.size(); k++) {
                for (String layer : local.get(k).keySet()) {
                    assertArrayEquals(Matrices.toArray(local.get(k).get(layer)), Matrices.toArray(actor.get(k).get(layer)),
                            "iteration " + (k + 1) + " layer " + layer);
                }
            }
            for (String layer : expected.deltas().keySet()) {
                assertEquals(0, Arrays.compare(Matrices.toArray(expected.deltas().get(layer)), Matrices.toArray(got.deltas().get(layer))));
            }
        }
    }
}
