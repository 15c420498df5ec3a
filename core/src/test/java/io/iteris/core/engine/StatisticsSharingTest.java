package io.iteris.core.engine;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.demo.DemoExample;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.ModelRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** Statistics shared by layers that read one input change nothing but the work: the merge is the same, bit for bit. */
class StatisticsSharingTest {
    @TempDir
    Path tmp;

    @Test
    void leadersAreTheFirstReaderInJobOrder() {
        Map<String, String> leaders = StatisticsSharing.leaders(List.of("a.k", "a.q", "b", "a.v"), Map.of("a.q", "x", "a.k", "x", "a.v", "x"));
        assertEquals(Map.of("a.k", "a.k", "a.q", "a.k", "b", "b", "a.v", "a.k"), leaders);
        assertEquals(List.of("a.k", "b"), List.copyOf(new java.util.LinkedHashSet<>(leaders.values())));
        // what a worker keeps of its captured inputs: the statistics layers' only (a layer no group knows stays)
        Map<String, Integer> captured = new java.util.LinkedHashMap<>();
        for (String layer : List.of("a.k", "a.q", "b", "a.v", "c")) {
            captured.put(layer, captured.size());
        }
        assertEquals(List.of("a.k", "b", "c"), List.copyOf(StatisticsSharing.leadersOnly(captured, leaders).keySet()));
    }

    @Test
    void projectionsReadingOneInputAreMergedExactlyAsIfEachHadItsOwnStatistics() {
        DemoExample.Shape shape = DemoExample.Shape.uniform(2, 12, 3, 2, 8, 3, 3);
        DemoExample.generate(tmp, shape, 4);
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", "iteris");
        m.put("iteris.merge.base", tmp.resolve("base/model.safetensors").toString());
        m.put("iteris.merge.calibration", tmp.resolve("calibration.safetensors").toString());
        m.put("iteris.merge.shard-size", 4);
        m.put("iteris.merge.out", tmp.resolve("out").toString());
        m.put("iteris.methods.iteris.iterations", 3);
        List<Map<String, Object>> adapters = new ArrayList<>();
        for (String task : shape.tasks()) {
            adapters.add(Map.of("name", task, "path", tmp.resolve("adapters/" + task).toString()));
        }
        m.put("iteris.merge.adapters", adapters);
        Merger.LoadedJob job = Merger.load(MergeSettings.from(ConfigFactory.parseMap(m).withFallback(ConfigFactory.load())));
        assertEquals(6, job.inputs().layers().size());
        Map<String, String> leaders = Merger.statisticsLeaders(job);
        assertEquals("layers.0.proj", leaders.get("layers.0.proj3"));
        assertEquals(2, new java.util.HashSet<>(leaders.values()).size(), "two inputs carry six layers' statistics");
        assertEquals(leaders, Merger.statisticsLeaders(Merger.loadForSubmission(job.settings(), false)), "from the model description alone");
        ShardInference shared = new ShardInference(job.inputs(), job.runner(), job.samples(), 4);
        Map<String, io.iteris.core.stats.GramStatistics> first = shared.statistics(0, 0, null, false);
        assertSame(first.get("layers.1.proj"), first.get("layers.1.proj2"), "computed once for the input");
        assertSame(first.get("layers.1.proj"), first.get("layers.1.proj3"));

        MergeOutcome withSharing = new LocalMergeEngine(job.inputs(), job.method(), job.runner(), job.samples(), 4).run(null);
        MergeOutcome without = new LocalMergeEngine(job.inputs(), job.method(), unshared(job.runner()), job.samples(), 4).run(null);
        for (String layer : job.inputs().layers()) {
            assertArrayEquals(Matrices.toArray(without.deltas().get(layer)), Matrices.toArray(withSharing.deltas().get(layer)), layer);
        }
    }

    /** The same model with every layer claiming an input of its own: statistics computed per layer, as before sharing. */
    private static ModelRunner unshared(ModelRunner r) {
        return new ModelRunner() {
            @Override
            public List<String> targetLayers() {
                return r.targetLayers();
            }

            @Override
            public int inputWidth() {
                return r.inputWidth();
            }

            @Override
            public Forward run(Map<String, INDArray> weights, INDArray samples, boolean capture) {
                return r.run(weights, samples, capture);
            }
        };
    }
}
