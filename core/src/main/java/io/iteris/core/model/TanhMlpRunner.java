package io.iteris.core.model;

import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The test vectors' MLP ({@link MlpSpec}) in ND4J, forward in float32 or float64. */
public final class TanhMlpRunner implements ModelRunner {
    private final MlpSpec spec;
    private final DataType precision;
    private final List<INDArray> biases;
    private final INDArray feedback; // R [d0, dL], or null

    public TanhMlpRunner(MlpSpec spec, BaseModel base, DataType precision) {
        this.spec = spec;
        this.precision = precision;
        List<String> layers = spec.layers();
        biases = new java.util.ArrayList<>();
        for (int k = 0; k < layers.size(); k++) {
            long[] shape = base.linearShape(layers.get(k), false);
            if (shape[0] != spec.dims()[k + 1] || shape[1] != spec.dims()[k]) {
                throw new IllegalArgumentException(base.source().location() + ": " + BaseModel.weightKey(layers.get(k))
                        + " is " + shape[0] + "x" + shape[1] + " but the model description says "
                        + spec.dims()[k + 1] + "x" + spec.dims()[k]);
            }
            String bias = layers.get(k) + ".bias";
            biases.add(base.source().contains(bias)
                    ? Nd4j.create(base.values(bias), new long[]{1, shape[0]}, DataType.DOUBLE).castTo(precision)
                    : Nd4j.zeros(precision, 1, shape[0]));
        }
        if (spec.feedback()) {
            int d0 = spec.dims()[0];
            int dl = spec.dims()[spec.dims().length - 1];
            feedback = Matrices.of(base.values("feedback.weight"), d0, dl).castTo(precision);
        } else {
            feedback = null;
        }
    }

    @Override
    public List<String> targetLayers() {
        return spec.layers();
    }

    @Override
    public int inputWidth() {
        return spec.dims()[0];
    }

    @Override
    public Forward run(Map<String, INDArray> weights, INDArray samples, boolean capture) {
        if (samples.rank() != 3 || samples.size(2) != inputWidth()) {
            throw new IllegalArgumentException("calibration batch must be [S, T, " + inputWidth() + "], got "
                    + java.util.Arrays.toString(samples.shape()));
        }
        List<INDArray> wt = spec.layers().stream().map(l -> {
            INDArray w = weights.get(l);
            if (w == null) {
                throw new IllegalArgumentException("no weight given for layer " + l);
            }
            return w.castTo(precision).transpose().dup('c');
        }).toList();
        INDArray x = samples.castTo(precision);
        return spec.feedback() ? runWithFeedback(wt, x, capture) : runFeedForward(wt, x, capture);
    }

    private Forward runFeedForward(List<INDArray> wt, INDArray x, boolean capture) {
        long s = x.size(0);
        long t = x.size(1);
        INDArray h = x.reshape('c', s * t, x.size(2));
        Map<String, INDArray> inputs = new LinkedHashMap<>();
        for (int k = 0; k < wt.size(); k++) {
            if (capture) {
                inputs.put(spec.layers().get(k), h.castTo(DataType.DOUBLE));
            }
            h = layer(k, wt, h);
        }
        return new Forward(h.reshape('c', s, t, h.size(1)).castTo(DataType.DOUBLE), inputs);
    }

    private Forward runWithFeedback(List<INDArray> wt, INDArray x, boolean capture) {
        long s = x.size(0);
        long t = x.size(1);
        int layers = wt.size();
        int[] dims = spec.dims();
        INDArray out = Nd4j.zeros(precision, s, t, dims[layers]);
        INDArray[] recorded = new INDArray[layers];
        for (int k = 0; k < layers; k++) {
            recorded[k] = capture ? Nd4j.zeros(precision, s, t, dims[k]) : null;
        }
        INDArray prev = null;
        for (int tok = 0; tok < t; tok++) {
            INDArray h = x.get(NDArrayIndex.all(), NDArrayIndex.point(tok), NDArrayIndex.all()).dup('c');
            if (prev != null) {
                h.addi(prev.mmul(feedback.transpose()));
            }
            for (int k = 0; k < layers; k++) {
                if (capture) {
                    recorded[k].get(NDArrayIndex.all(), NDArrayIndex.point(tok), NDArrayIndex.all()).assign(h);
                }
                h = layer(k, wt, h);
            }
            out.get(NDArrayIndex.all(), NDArrayIndex.point(tok), NDArrayIndex.all()).assign(h);
            prev = h;
        }
        Map<String, INDArray> inputs = new LinkedHashMap<>();
        if (capture) {
            for (int k = 0; k < layers; k++) {
                inputs.put(spec.layers().get(k), recorded[k].reshape('c', s * t, dims[k]).castTo(DataType.DOUBLE));
            }
        }
        return new Forward(out.castTo(DataType.DOUBLE), inputs);
    }

    private INDArray layer(int k, List<INDArray> wt, INDArray h) {
        INDArray z = h.mmul(wt.get(k)).addiRowVector(biases.get(k));
        return k < wt.size() - 1 ? Transforms.tanh(z, false) : z;
    }
}
