package io.iteris.core.model;

import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * Runs a model whose LoRA-targeted linear layers take the weights it is given, and reports what IterIS
 * needs: each target layer's inputs. Implementations: {@link TanhMlpRunner} (the test vectors' MLP);
 * later, ONNX Runtime for transformers.
 */
public interface ModelRunner extends AutoCloseable {

    /** The LoRA-targeted layers, in forward order. */
    List<String> targetLayers();

    /** For a model of token ids: how many ids its embedding has (a calibration id must be below it); 0 otherwise. */
    default long vocabularySize() {
        return 0;
    }

    /**
     * Per target layer, a name for the tensor it reads: layers with the same name read the same input (the
     * q, k and v projections of one attention block), so their statistics are equal and computed once
     * ({@link io.iteris.core.engine.StatisticsSharing}). By default every layer reads its own.
     */
    default Map<String, String> inputOf() {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        targetLayers().forEach(l -> out.put(l, l));
        return out;
    }

    /** Feature width the model takes (last axis of a calibration batch). */
    int inputWidth();

    /**
     * One forward pass.
     *
     * @param weights full weight [out×in] (float64) of every target layer
     * @param samples calibration batch [S, T, d]
     * @param capture whether to record the layer inputs
     */
    Forward run(Map<String, INDArray> weights, INDArray samples, boolean capture);

    /**
     * Per target layer, its inputs [S·T, in] in one pass, as {@link #run} captures them; a runner whose output is large
     * (an LLM's logits) overrides this so the output is not copied out for nothing.
     */
    default Map<String, INDArray> capture(Map<String, INDArray> weights, INDArray samples) {
        return run(weights, samples, true).layerInputs();
    }

    /**
     * Per layer of {@code x}, the statistics of one pass with {@code weights} against the paired inputs {@code x}
     * (the task model's inputs for the same samples, as {@link #run} captured them): C = xᵀX̃, H = X̃ᵀX̃, and G = xᵀx
     * when {@code withG}, where X̃ are this pass's inputs. Here the inputs are captured and multiplied in the JVM; a
     * runner that can multiply them where it runs the model overrides this, so only in×in matrices come back.
     */
    default Map<String, GramStatistics> statistics(Map<String, INDArray> weights, INDArray samples, Map<String, INDArray> x, boolean withG) {
        Map<String, INDArray> xt = capture(weights, samples);
        Map<String, GramStatistics> out = new java.util.LinkedHashMap<>();
        x.forEach((layer, xl) -> out.put(layer, GramStatistics.of(xl, xt.get(layer), withG)));
        return out;
    }

    /**
     * @param output      the model's output [S, T, d_out] (float64)
     * @param layerInputs per target layer, its inputs [S·T, in] (float64, sample-major rows); empty when not captured
     */
    record Forward(INDArray output, Map<String, INDArray> layerInputs) {
    }

    /** Frees what the runner holds outside the heap (an ONNX Runtime session); it is not used afterwards. */
    @Override
    default void close() {
    }
}
