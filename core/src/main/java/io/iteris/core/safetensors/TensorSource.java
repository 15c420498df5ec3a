package io.iteris.core.safetensors;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Named tensors read lazily: one safetensors file, or a HuggingFace sharded checkpoint.
 * Nothing is read until a tensor's values are asked for.
 */
public interface TensorSource {

    /** Where the tensors come from, for messages. */
    Path location();

    Set<String> names();

    /** The header entry of a tensor; throws {@link SafetensorsException} naming the tensor when absent. */
    TensorInfo info(String name);

    default boolean contains(String name) {
        return names().contains(name);
    }

    /** The values as doubles, in C order. */
    double[] readDoubles(String name);

    /** The values as floats, in C order. */
    float[] readFloats(String name);

    /** The values of an integer tensor (I64, I32, I16, I8, U8), in C order: token ids and labels. */
    default long[] readIntegers(String name) {
        throw new SafetensorsException(location(), name, "integer tensors cannot be read from this source");
    }

    /** The optional {@code __metadata__} string map (empty when absent). */
    Map<String, String> metadata();

    /**
     * Opens a file, or a directory holding {@code model.safetensors.index.json}, {@code model.safetensors}
     * or exactly one {@code *.safetensors} file.
     */
    static TensorSource open(Path path) {
        return TensorSources.open(path);
    }
}
