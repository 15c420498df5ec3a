package io.iteris.core.model;

import io.iteris.core.safetensors.SafetensorsException;
import io.iteris.core.safetensors.TensorInfo;
import io.iteris.core.safetensors.TensorSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Unlabelled calibration samples per task, from one safetensors file: {@code <task>.input} [S, T, d]
 * (a [S, d] tensor is read as one token per sample), or {@code task<i>.input} by task order. For a
 * transformer, {@code <task>.input_ids} [S, T] (I64 or I32, as tokenizers write them) with an optional
 * {@code <task>.attention_mask} [S, T], or −1 at padding positions; they are handed on as a [S, T, 1]
 * tensor with −1 at padding.
 */
public final class Calibration {
    private final TensorSource source;

    private Calibration(TensorSource source) {
        this.source = source;
    }

    public static Calibration open(Path file) {
        return new Calibration(TensorSource.open(file));
    }

    public Path location() {
        return source.location();
    }

    /** The key holding a task's samples: its name first, then its position. */
    public String keyFor(String task, int index) {
        String byName = task + ".input";
        if (source.contains(byName)) {
            return byName;
        }
        String byIndex = "task" + index + ".input";
        if (source.contains(byIndex)) {
            return byIndex;
        }
        throw new SafetensorsException(source.location(), "no calibration samples for task '" + task + "': expected tensor '"
                + byName + "' (or '" + byIndex + "')");
    }

    /** A task's samples [S, T, d] in float64, checked for width, emptiness and finiteness. */
    public INDArray samples(String task, int index, int width) {
        if (width == 1) {
            for (String prefix : List.of(task, "task" + index)) {
                if (source.contains(prefix + ".input_ids")) {
                    return tokenIds(prefix);
                }
            }
        }
        return read(keyFor(task, index), width);
    }

    /** Refuses a token id the model's embedding has no row for, naming the tensor, the place and the vocabulary. */
    public void checkTokenIds(String task, int index, INDArray samples, long vocabulary) {
        if (vocabulary <= 0) {
            return;
        }
        double[] v = io.iteris.core.linalg.Matrices.toArray(samples.reshape(samples.length()));
        for (int i = 0; i < v.length; i++) {
            if (v[i] >= vocabulary) {
                String key = source.contains(task + ".input_ids") ? task + ".input_ids" : "task" + index + ".input_ids";
                throw new SafetensorsException(source.location(), key, "holds token id " + (long) v[i] + " at flat index " + i
                        + ", but the model's vocabulary has " + vocabulary + " tokens (was it tokenized for another model?)");
            }
        }
    }

    /** {@code <prefix>.input_ids} [S, T] and its mask as [S, T, 1] doubles, −1 at padding. */
    private INDArray tokenIds(String prefix) {
        String key = prefix + ".input_ids";
        TensorInfo t = source.info(key);
        if (t.rank() != 2 || t.shape()[0] == 0 || t.shape()[1] == 0) {
            throw new SafetensorsException(source.location(), key, "is " + t.shapeString() + "; expected token ids [samples, tokens]");
        }
        long[] ids = source.readIntegers(key);
        long[] mask = null;
        String maskKey = prefix + ".attention_mask";
        if (source.contains(maskKey)) {
            TensorInfo m = source.info(maskKey);
            if (!java.util.Arrays.equals(m.shape(), t.shape())) {
                throw new SafetensorsException(source.location(), maskKey, "is " + m.shapeString() + " but " + key + " is " + t.shapeString());
            }
            mask = source.readIntegers(maskKey);
        }
        double[] v = new double[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < -1) {
                throw new SafetensorsException(source.location(), key, "holds " + ids[i] + " at flat index " + i + "; token ids are ≥ 0 (−1 for padding)");
            }
            v[i] = mask != null && mask[i] == 0 ? -1 : ids[i];
        }
        return Nd4j.create(v, new long[]{t.shape()[0], t.shape()[1], 1}, DataType.DOUBLE);
    }

    /** Any [S, T, d] tensor of the file (e.g. a probe batch), validated like task samples. */
    public INDArray read(String key, int width) {
        TensorInfo t = source.info(key);
        long[] shape = t.rank() == 2 ? new long[]{t.shape()[0], 1, t.shape()[1]} : t.shape();
        if (shape.length != 3) {
            throw new SafetensorsException(source.location(), key, "is " + t.shapeString() + "; expected [samples, tokens, features]");
        }
        if (shape[0] == 0 || shape[1] == 0) {
            throw new SafetensorsException(source.location(), key, "is empty " + t.shapeString() + ": a task needs calibration samples");
        }
        if (shape[2] != width) {
            throw new SafetensorsException(source.location(), key, "has " + shape[2] + " features per token but the model takes " + width);
        }
        double[] v = source.readDoubles(key);
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new SafetensorsException(source.location(), key, "holds " + v[i] + " at flat index " + i);
            }
        }
        return Nd4j.create(v, shape, DataType.DOUBLE);
    }

    public boolean contains(String key) {
        return source.contains(key);
    }

    /** Consecutive shards of at most {@code shardSize} samples (0: a single shard). */
    public static List<INDArray> shards(INDArray samples, int shardSize) {
        long s = samples.size(0);
        if (shardSize <= 0 || shardSize >= s) {
            return List.of(samples);
        }
        List<INDArray> out = new ArrayList<>();
        for (long from = 0; from < s; from += shardSize) {
            long to = Math.min(s, from + shardSize);
            out.add(samples.get(NDArrayIndex.interval(from, to), NDArrayIndex.all(), NDArrayIndex.all()).dup('c'));
        }
        return out;
    }
}
