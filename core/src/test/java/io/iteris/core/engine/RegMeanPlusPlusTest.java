package io.iteris.core.engine;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.demo.DemoExample;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.RegMeanMethod;
import io.iteris.core.merge.RegMeanPlusPlusMethod;
import io.iteris.core.stats.GramStatistics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RegMean++ through the engine's solve-and-rerun loop is the paper's layer-by-layer merge: written out here in
 * forward order (merge layer k on the inputs the model with layers below k merged gives it, install, go on).
 */
class RegMeanPlusPlusTest {
    @TempDir
    Path tmp;

    @Test
    void theEngineLoopReachesTheForwardOrderMergeAndStopsOnePassAfterIt() {
        DemoExample.Shape shape = DemoExample.Shape.uniform(3, 10, 3, 2, 16, 3);
        DemoExample.generate(tmp, shape, 21);
        Merger.LoadedJob job = Merger.load(settings(shape));
        MergeInputs in = job.inputs();
        List<String> layers = in.layers();
        assertEquals(3, layers.size());

        Map<String, INDArray> reference = new LinkedHashMap<>();
        layers.forEach(l -> reference.put(l, Matrices.zeros(in.shape(l)[0], in.shape(l)[1])));
        RegMeanMethod regMean = new RegMeanMethod(1.0);
        for (String layer : layers) {
            List<GramStatistics> stats = new ArrayList<>();
            for (int t = 0; t < in.taskCount(); t++) {
                INDArray x = rows(job.runner().run(in.mergedWeights(reference), job.samples().get(t), true).layerInputs().get(layer));
                stats.add(GramStatistics.ofFeatures(x));
            }
            reference.put(layer, regMean.mergeLayer(in.layerInput(layer, 0, stats, null)).delta());
        }

        List<Integer> passes = new ArrayList<>();
        MergeOutcome out = new LocalMergeEngine(in, new RegMeanPlusPlusMethod(1.0, 16), job.runner(), job.samples(), 0)
                .run((report, merged) -> passes.add(report.iteration()));
        assertEquals(List.of(0, 1, 2, 3), passes, "three levels: the fourth pass changes nothing and ends the merge");
        for (String layer : layers) {
            double err = Matrices.relativeError(out.deltas().get(layer), reference.get(layer));
            assertTrue(err < 1e-12, layer + ": relative error " + err + " from the forward-order merge");
        }
        MergeOutcome plain = new LocalMergeEngine(in, regMean, job.runner(), job.samples(), 0).run(null);
        assertTrue(Matrices.relativeError(plain.deltas().get(layers.get(0)), out.deltas().get(layers.get(0))) < 1e-12,
                "the first layer sees the same inputs in every model");
        assertTrue(Matrices.relativeError(plain.deltas().get(layers.get(2)), out.deltas().get(layers.get(2))) > 1e-6,
                "a deeper layer sees the merged model's inputs, not each task model's");

        MergeOutcome capped = new LocalMergeEngine(in, new RegMeanPlusPlusMethod(1.0, 2), job.runner(), job.samples(), 0).run(null);
        assertEquals(2, capped.iterations().size(), "max_passes caps the loop");
    }

    /** Layer inputs [S, T, d] (or [N, d]) as rows [S·T, d]. */
    private static INDArray rows(INDArray x) {
        return x.rank() == 2 ? x : x.reshape('c', x.size(0) * x.size(1), x.size(2));
    }

    private MergeSettings settings(DemoExample.Shape shape) {
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", "regmean_pp");
        m.put("iteris.merge.base", tmp.resolve("base/model.safetensors").toString());
        m.put("iteris.merge.calibration", tmp.resolve("calibration.safetensors").toString());
        m.put("iteris.merge.out", tmp.resolve("out").toString());
        List<Map<String, Object>> adapters = new ArrayList<>();
        for (String task : shape.tasks()) {
            adapters.add(Map.of("name", task, "path", tmp.resolve("adapters/" + task).toString()));
        }
        m.put("iteris.merge.adapters", adapters);
        return MergeSettings.from(ConfigFactory.parseMap(m).withFallback(ConfigFactory.load()));
    }
}
