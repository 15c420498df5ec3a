package io.iteris.bench.train;

import io.iteris.core.safetensors.TensorSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A BERT encoder in SameDiff, its weights read from the exported model (frozen constants), with trainable
 * rank-r LoRA factors on the targeted projections and a classification head on the mask-weighted mean of
 * the last hidden states: what {@link TextLoraTrainer} differentiates. Shapes are fixed per graph (batch
 * and padded length), which keeps every reshape static.
 *
 * <p>It follows the exported graph op for op (LayerNorm with ε = 1e-12, exact erf GELU, additive mask
 * −10000), so its hidden states match ONNX Runtime's to float32 rounding.
 */
public final class BertLoraGraph {
    public static final String IDS = "ids";
    public static final String MASK_BIAS = "maskBias";
    public static final String POOL = "pool";
    public static final String LABELS = "labels";
    public static final String HIDDEN = "hidden";
    public static final String LOGITS = "logits";
    public static final String LOSS = "loss";

    /** The encoder's size, read from the weights, and the one figure they do not hold: the head count. */
    public record Shape(int layers, int hidden, int heads) {
    }

    private final SameDiff sd = SameDiff.create();
    private final int batch;
    private final int tokens;
    private final Shape shape;
    private final List<String> trainable = new ArrayList<>();
    private final Map<String, String[]> loraVariables = new LinkedHashMap<>();

    /**
     * @param targets   last name component of the LoRA-targeted modules (e.g. query, value)
     * @param lora      initial factors per module: [A (r×in), B (out×r)], float32
     * @param head      initial head [W (classes×hidden), b (classes)]; null for a graph without a head
     */
    public BertLoraGraph(TensorSource weights, int heads, int batch, int tokens, List<String> targets,
                         Map<String, INDArray[]> lora, double loraScale, INDArray[] head) {
        this.batch = batch;
        this.tokens = tokens;
        int layers = layers(weights);
        int hidden = (int) weights.info("embeddings.word_embeddings.weight").shape()[1];
        if (layers == 0 || hidden % heads != 0) {
            throw new IllegalArgumentException(weights.location() + ": not a BERT encoder with " + heads + " heads (layers found: " + layers + ")");
        }
        this.shape = new Shape(layers, hidden, heads);
        build(weights, targets, lora, loraScale, head);
    }

    /** Encoder layers in the weights: {@code encoder.layer.<i>} counted from 0 while its query exists. */
    public static int layers(TensorSource weights) {
        int layers = 0;
        while (weights.contains("encoder.layer." + layers + ".attention.self.query.weight")) {
            layers++;
        }
        return layers;
    }

    public Shape shape() {
        return shape;
    }

    public SameDiff sameDiff() {
        return sd;
    }

    public int batch() {
        return batch;
    }

    public int tokens() {
        return tokens;
    }

    /** Names of the trainable variables: every LoRA factor, then the head's. */
    public List<String> trainable() {
        return List.copyOf(trainable);
    }

    /**
     * Keeps the head at its initial values: the task's skill must then live in the LoRA alone, so the base
     * model with the head is at chance and a merge that loses a task's LoRA shows it.
     */
    public void freezeHead() {
        sd.convertToConstants(List.of(sd.getVariable("head.weight"), sd.getVariable("head.bias")));
        trainable.removeAll(List.of("head.weight", "head.bias"));
    }

    /** Module → the variable names of its [A, B]. */
    public Map<String, String[]> loraVariables() {
        return loraVariables;
    }

    /**
     * The placeholders for one batch: ids [B, T] (−1 marks padding), class labels (null for inference).
     */
    public Map<String, INDArray> feeds(int[][] ids, int[] labels, int classes) {
        int[] flat = new int[batch * tokens];
        float[] bias = new float[batch * tokens];
        float[] pool = new float[batch * tokens];
        for (int b = 0; b < batch; b++) {
            int real = 0;
            for (int t = 0; t < tokens; t++) {
                real += ids[b][t] >= 0 ? 1 : 0;
            }
            for (int t = 0; t < tokens; t++) {
                boolean isReal = ids[b][t] >= 0;
                flat[b * tokens + t] = isReal ? ids[b][t] : 0;
                bias[b * tokens + t] = isReal ? 0f : -10000f;
                pool[b * tokens + t] = isReal ? 1f / Math.max(real, 1) : 0f;
            }
        }
        Map<String, INDArray> feeds = new LinkedHashMap<>();
        feeds.put(IDS, Nd4j.createFromArray(flat));
        feeds.put(MASK_BIAS, Nd4j.create(bias, new long[]{batch, 1, 1, tokens}, 'c'));
        feeds.put(POOL, Nd4j.create(pool, new long[]{batch, tokens, 1}, 'c'));
        if (labels != null) {
            INDArray y = Nd4j.zeros(DataType.FLOAT, batch, classes);
            for (int b = 0; b < batch; b++) {
                y.putScalar(b, labels[b], 1f);
            }
            feeds.put(LABELS, y);
        }
        return feeds;
    }

    private void build(TensorSource w, List<String> targets, Map<String, INDArray[]> lora, double loraScale, INDArray[] head) {
        int h = shape.hidden();
        int rows = batch * tokens;
        SDVariable ids = sd.placeHolder(IDS, DataType.INT32, rows);
        SDVariable maskBias = sd.placeHolder(MASK_BIAS, DataType.FLOAT, batch, 1, 1, tokens);
        SDVariable pool = sd.placeHolder(POOL, DataType.FLOAT, batch, tokens, 1);

        // Position and token-type embeddings are the same for every batch: one constant [B·T, H].
        INDArray positions = constant(w, "embeddings.position_embeddings.weight");
        INDArray typeRow = constant(w, "embeddings.token_type_embeddings.weight").getRow(0);
        INDArray fixed = Nd4j.create(DataType.FLOAT, rows, h);
        for (int r = 0; r < rows; r++) {
            fixed.putRow(r, positions.getRow(r % tokens).add(typeRow));
        }
        SDVariable x = sd.gather(sd.constant("embeddings.word_embeddings.weight", constant(w, "embeddings.word_embeddings.weight")), ids, 0)
                .add(sd.constant("embeddings.fixed", fixed));
        x = layerNorm(w, x, "embeddings.LayerNorm");
        int dh = h / shape.heads();
        for (int l = 0; l < shape.layers(); l++) {
            String p = "encoder.layer." + l + ".";
            SDVariable q = linear(w, x, p + "attention.self.query", targets, lora, loraScale);
            SDVariable k = linear(w, x, p + "attention.self.key", targets, lora, loraScale);
            SDVariable v = linear(w, x, p + "attention.self.value", targets, lora, loraScale);
            SDVariable q4 = q.reshape(batch, tokens, shape.heads(), dh).permute(0, 2, 1, 3);
            SDVariable k4 = k.reshape(batch, tokens, shape.heads(), dh).permute(0, 2, 1, 3);
            SDVariable v4 = v.reshape(batch, tokens, shape.heads(), dh).permute(0, 2, 1, 3);
            SDVariable scores = sd.mmul(q4, k4, false, true, false).div(Math.sqrt(dh)).add(maskBias);
            SDVariable probs = sd.nn.softmax(scores, 3);
            SDVariable context = sd.mmul(probs, v4).permute(0, 2, 1, 3).reshape(rows, h);
            SDVariable attended = linear(w, context, p + "attention.output.dense", targets, lora, loraScale);
            x = layerNorm(w, x.add(attended), p + "attention.output.LayerNorm");
            SDVariable inner = linear(w, x, p + "intermediate.dense", targets, lora, loraScale);
            SDVariable gelu = inner.mul(0.5).mul(sd.math.erf(inner.div(Math.sqrt(2.0))).add(1.0));
            SDVariable out = linear(w, gelu, p + "output.dense", targets, lora, loraScale);
            x = layerNorm(w, x.add(out), p + "output.LayerNorm");
        }
        SDVariable hidden = sd.identity(HIDDEN, x.reshape(batch, tokens, h));
        if (head != null) {
            SDVariable pooled = hidden.mul(pool).sum(1);
            SDVariable hw = sd.var("head.weight", head[0].castTo(DataType.FLOAT));
            SDVariable hb = sd.var("head.bias", head[1].castTo(DataType.FLOAT).reshape(1, head[1].length()));
            trainable.add("head.weight");
            trainable.add("head.bias");
            SDVariable logits = sd.identity(LOGITS, sd.mmul(pooled, hw, false, true, false).add(hb));
            SDVariable labels = sd.placeHolder(LABELS, DataType.FLOAT, batch, head[0].size(0));
            sd.loss.softmaxCrossEntropy(LOSS, labels, logits, null);
            sd.setLossVariables(LOSS);
        }
    }

    private SDVariable linear(TensorSource w, SDVariable x, String module, List<String> targets, Map<String, INDArray[]> lora,
                              double loraScale) {
        SDVariable weight = sd.constant(module + ".weight", constant(w, module + ".weight"));
        SDVariable bias = sd.constant(module + ".bias", constant(w, module + ".bias").reshape(1, -1));
        SDVariable y = sd.mmul(x, weight, false, true, false).add(bias);
        if (targets.contains(module.substring(module.lastIndexOf('.') + 1)) && lora.containsKey(module)) {
            INDArray[] f = lora.get(module);
            String an = module + ".lora_A";
            String bn = module + ".lora_B";
            SDVariable a = sd.var(an, f[0].castTo(DataType.FLOAT));
            SDVariable b = sd.var(bn, f[1].castTo(DataType.FLOAT));
            trainable.add(an);
            trainable.add(bn);
            loraVariables.put(module, new String[]{an, bn});
            y = y.add(sd.mmul(sd.mmul(x, a, false, true, false), b, false, true, false).mul(loraScale));
        }
        return y;
    }

    private SDVariable layerNorm(TensorSource w, SDVariable x, String name) {
        SDVariable centred = x.sub(x.mean(true, 1));
        SDVariable variance = centred.mul(centred).mean(true, 1);
        SDVariable normed = centred.div(sd.math.sqrt(variance.add(1e-12)));
        return normed.mul(sd.constant(name + ".weight", constant(w, name + ".weight").reshape(1, -1)))
                .add(sd.constant(name + ".bias", constant(w, name + ".bias").reshape(1, -1)));
    }

    private static INDArray constant(TensorSource w, String key) {
        return Nd4j.create(w.readFloats(key), w.info(key).shape(), 'c');
    }
}
