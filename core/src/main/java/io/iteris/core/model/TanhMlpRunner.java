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
    /** Per chain layer, the projections beside it (reading its input, adding to its pre-activation). */
    private final List<List<String>> beside = new java.util.ArrayList<>();

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
            List<String> extras = new java.util.ArrayList<>();
            for (Map.Entry<String, String> e : spec.parallel().entrySet()) {
                if (e.getValue().equals(layers.get(k))) {
                    long[] es = base.linearShape(e.getKey(), false);
                    if (es[0] != shape[0] || es[1] != shape[1]) {
                        throw new IllegalArgumentException(base.source().location() + ": " + BaseModel.weightKey(e.getKey()) + " is "
                                + es[0] + "x" + es[1] + " but it runs beside " + layers.get(k) + ", " + shape[0] + "x" + shape[1]);
                    }
                    extras.add(e.getKey());
                }
            }
            beside.add(extras);
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
        return spec.allLayers();
    }

    /** A projection beside a chain layer reads that layer's input. */
    @Override
    public Map<String, String> inputOf() {
        return spec.inputOf();
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
        List<INDArray> wt = spec.layers().stream().map(l -> transposed(weights, l)).toList();
        List<List<INDArray>> extraWt = beside.stream().map(ls -> ls.stream().map(l -> transposed(weights, l)).toList()).toList();
        INDArray x = samples.castTo(precision);
        return spec.feedback() ? runWithFeedback(wt, extraWt, x, capture) : runFeedForward(wt, extraWt, x, capture);
    }

    private INDArray transposed(Map<String, INDArray> weights, String layer) {
        INDArray w = weights.get(layer);
        if (w == null) {
            throw new IllegalArgumentException("no weight given for layer " + layer);
        }
        return w.castTo(precision).transpose().dup('c');
    }

    /** Records a chain layer's input for it and for every projection beside it (one array: they read the same). */
    private void record(Map<String, INDArray> inputs, int k, INDArray x) {
        inputs.put(spec.layers().get(k), x);
        beside.get(k).forEach(l -> inputs.put(l, x));
    }

    private Forward runFeedForward(List<INDArray> wt, List<List<INDArray>> extraWt, INDArray x, boolean capture) {
        long s = x.size(0);
        long t = x.size(1);
        INDArray h = x.reshape('c', s * t, x.size(2));
        Map<String, INDArray> inputs = new LinkedHashMap<>();
        for (int k = 0; k < wt.size(); k++) {
            if (capture) {
                record(inputs, k, h.castTo(DataType.DOUBLE));
            }
            h = layer(k, wt, extraWt, h);
        }
        return new Forward(h.reshape('c', s, t, h.size(1)).castTo(DataType.DOUBLE), inputs);
    }

    private Forward runWithFeedback(List<INDArray> wt, List<List<INDArray>> extraWt, INDArray x, boolean capture) {
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
                h = layer(k, wt, extraWt, h);
            }
            out.get(NDArrayIndex.all(), NDArrayIndex.point(tok), NDArrayIndex.all()).assign(h);
            prev = h;
        }
        Map<String, INDArray> inputs = new LinkedHashMap<>();
        if (capture) {
            for (int k = 0; k < layers; k++) {
                record(inputs, k, recorded[k].reshape('c', s * t, dims[k]).castTo(DataType.DOUBLE));
            }
        }
        return new Forward(out.castTo(DataType.DOUBLE), inputs);
    }

    private INDArray layer(int k, List<INDArray> wt, List<List<INDArray>> extraWt, INDArray h) {
        INDArray z = h.mmul(wt.get(k)).addiRowVector(biases.get(k));
        for (INDArray w : extraWt.get(k)) {
            z.addi(h.mmul(w));
        }
        return k < wt.size() - 1 ? Transforms.tanh(z, false) : z;
    }
}
