package io.iteris.core.model.onnx;

import io.iteris.core.demo.TinyLlama;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.ModelRunner;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The generated decoder ({@link TinyLlama}) recomputed in float64 with ND4J, independently of ONNX Runtime: the same
 * embeddings, padding-masked single-head attention, SiLU-gated MLP and residuals, its weights read from the model's
 * file (so float16 weights are the same values). It captures the same layer inputs (real tokens only), so a merge
 * run on it is IterIS on the same model in float64.
 */
final class TinyLlamaReference implements ModelRunner {
    private final OnnxTensorSource model;
    private final TinyLlama.Shape shape;
    private final List<String> targets;
    private final INDArray embed;
    private final INDArray positions;
    private final Map<String, INDArray> w0 = new LinkedHashMap<>();
    private final Map<String, INDArray> gains = new LinkedHashMap<>();

    TinyLlamaReference(OnnxTensorSource model, TinyLlama.Shape shape, List<String> targets) {
        this.model = model;
        this.shape = shape;
        this.targets = List.copyOf(targets);
        this.embed = read("model.embed_tokens.weight", shape.vocab(), shape.hidden());
        this.positions = read("model.embed_positions.weight", shape.positions(), shape.hidden());
        for (int l = 0; l < shape.layers(); l++) {
            for (String m : TinyLlama.modules(l)) {
                long[] s = model.info(m + ".weight").shape();
                w0.put(m, read(m + ".weight", (int) s[0], (int) s[1]));
            }
            for (String norm : List.of("input_layernorm", "post_attention_layernorm")) {
                String key = "model.layers." + l + "." + norm + ".weight";
                gains.put(key, read(key, 1, shape.hidden()));
            }
        }
    }

    private INDArray read(String name, int rows, int cols) {
        return Matrices.of(model.readDoubles(name), rows, cols);
    }

    @Override
    public List<String> targetLayers() {
        return targets;
    }

    @Override
    public int inputWidth() {
        return 1;
    }

    @Override
    public long vocabularySize() {
        return shape.vocab();
    }

    @Override
    public Forward run(Map<String, INDArray> weights, INDArray samples, boolean capture) {
        int s = (int) samples.size(0);
        int t = (int) samples.size(1);
        Map<String, List<INDArray>> captured = new LinkedHashMap<>();
        targets.forEach(m -> captured.put(m, new ArrayList<>()));
        for (int b = 0; b < s; b++) {
            double[] ids = Matrices.toArray(samples.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b),
                    org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(0)).dup('c'));
            INDArray h = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.DOUBLE, t, shape.hidden());
            double[] bias = new double[t];
            List<Integer> real = new ArrayList<>();
            for (int j = 0; j < t; j++) {
                long id = ids[j] < 0 ? 0 : (long) ids[j];
                h.putRow(j, embed.getRow(id).add(positions.getRow(j)));
                bias[j] = ids[j] < 0 ? -10000 : 0;
                if (ids[j] >= 0) {
                    real.add(j);
                }
            }
            INDArray maskRow = Nd4j.createFromArray(bias).reshape(1, t);
            for (int l = 0; l < shape.layers(); l++) {
                List<String> m = TinyLlama.modules(l);
                INDArray xn = rmsNorm(h, gains.get("model.layers." + l + ".input_layernorm.weight"));
                INDArray q = project(xn, m.get(0), weights, real, captured);
                INDArray k = project(xn, m.get(1), weights, real, captured);
                INDArray v = project(xn, m.get(2), weights, real, captured);
                INDArray scores = q.mmul(k.transpose()).muli(1 / Math.sqrt(shape.hidden())).addiRowVector(maskRow);
                INDArray probs = softmaxRows(scores);
                INDArray context = probs.mmul(v);
                INDArray h1 = h.add(project(context, m.get(3), weights, real, captured));
                INDArray hn = rmsNorm(h1, gains.get("model.layers." + l + ".post_attention_layernorm.weight"));
                INDArray gate = project(hn, m.get(4), weights, real, captured);
                INDArray up = project(hn, m.get(5), weights, real, captured);
                INDArray gated = gate.mul(Transforms.sigmoid(gate, true)).muli(up);
                h = h1.add(project(gated, m.get(6), weights, real, captured));
            }
        }
        Map<String, INDArray> inputs = new LinkedHashMap<>();
        captured.forEach((m, rows) -> inputs.put(m, Nd4j.vstack(rows.toArray(INDArray[]::new))));
        return new Forward(null, capture ? inputs : Map.of());
    }

    /** x·Wᵀ with the layer's given weight (a target) or its own; a target's input rows of real tokens are recorded. */
    private INDArray project(INDArray x, String module, Map<String, INDArray> weights, List<Integer> real, Map<String, List<INDArray>> captured) {
        if (captured.containsKey(module)) {
            for (int j : real) {
                captured.get(module).add(x.getRow(j).reshape(1, x.size(1)).dup());
            }
        }
        INDArray w = weights.containsKey(module) ? weights.get(module) : w0.get(module);
        return x.mmul(w.transpose());
    }

    /** x / sqrt(mean(x²) + eps) · gain, row by row. */
    private static INDArray rmsNorm(INDArray x, INDArray gain) {
        INDArray out = x.dup();
        for (int i = 0; i < out.rows(); i++) {
            INDArray row = out.getRow(i);
            double ms = row.mul(row).meanNumber().doubleValue();
            row.divi(Math.sqrt(ms + 1e-5)).muli(gain.reshape(row.shape()));
        }
        return out;
    }

    private static INDArray softmaxRows(INDArray scores) {
        INDArray out = scores.dup();
        for (int i = 0; i < out.rows(); i++) {
            INDArray row = out.getRow(i);
            double max = row.maxNumber().doubleValue();
            row.subi(max);
            Transforms.exp(row, false);
            row.divi(row.sumNumber().doubleValue());
        }
        return out;
    }
}
