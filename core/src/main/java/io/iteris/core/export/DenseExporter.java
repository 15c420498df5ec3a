package io.iteris.core.export;

import io.iteris.core.engine.MergeInputs;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.BaseModel;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsWriter;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Map;

/**
 * Writes merged deltas uncompressed: {@code delta_weights.safetensors} with one {@code <module>.weight}
 * per targeted module, in the base checkpoint's own layout, so W_merged = W_base + delta key by key.
 */
public final class DenseExporter {
    public static final String FILE_NAME = "delta_weights.safetensors";

    private DenseExporter() {
    }

    public static void write(MergeInputs inputs, Map<String, INDArray> deltas, Path dir) {
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt")
                .metadata("content", "merged delta weights: add to the base weights of the same name");
        for (String layer : inputs.layers()) {
            INDArray d = deltas.get(layer);
            INDArray stored = inputs.fanInFanOut() ? d.transpose().dup('c') : d;
            writer.add(BaseModel.weightKey(layer), DType.F32, stored.shape(), Matrices.toArray(stored));
        }
        writer.write(dir.resolve(FILE_NAME));
    }
}
