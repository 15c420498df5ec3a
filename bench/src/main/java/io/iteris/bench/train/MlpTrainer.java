package io.iteris.bench.train;

import io.iteris.core.peft.LoraModule;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Trains the benchmark's tanh MLP classifier with plain backpropagation and Adam in ND4J (float32): the base
 * model on one task, and rank-r LoRAs on other tasks with the base frozen (W_eff = W + s·B·A, B starting at 0).
 * Everything random comes from one seed, so a run is reproducible.
 */
public final class MlpTrainer {
    /** Training schedule. */
    public record Schedule(int epochs, int batch, double learningRate, long seed) {
    }

    /** An MLP: per layer W [out×in] and b [out] (float32). */
    public record Mlp(List<String> layers, List<INDArray> w, List<INDArray> b) {
    }

    private MlpTrainer() {
    }

    public static Mlp trainBase(List<String> layers, int[] dims, INDArray x, int[] y, Schedule s) {
        SplittableRandom rng = new SplittableRandom(s.seed());
        List<INDArray> w = new ArrayList<>();
        List<INDArray> b = new ArrayList<>();
        for (int k = 0; k < layers.size(); k++) {
            w.add(gaussian(rng, dims[k + 1], dims[k], 1.0 / Math.sqrt(dims[k])));
            b.add(Nd4j.zeros(DataType.FLOAT, 1, dims[k + 1]));
        }
        List<INDArray> params = new ArrayList<>(w);
        params.addAll(b);
        run(x, y, s, rng, params, batch -> {
            Grads g = backward(w, b, batch.x, batch.y);
            List<INDArray> grads = new ArrayList<>(g.dw);
            grads.addAll(g.db);
            return grads;
        });
        return new Mlp(List.copyOf(layers), w, b);
    }

    /** Trains LoRA factors on every layer of a frozen base; returns module → factors (float64 for export). */
    public static Map<String, LoraModule> trainLora(Mlp base, INDArray x, int[] y, int rank, double alpha, Schedule s) {
        SplittableRandom rng = new SplittableRandom(s.seed());
        double scale = alpha / rank;
        List<INDArray> a = new ArrayList<>();
        List<INDArray> bm = new ArrayList<>();
        for (INDArray w : base.w()) {
            double bound = 1.0 / Math.sqrt(w.size(1));
            a.add(uniform(rng, rank, w.size(1), bound));
            bm.add(Nd4j.zeros(DataType.FLOAT, w.size(0), rank));
        }
        List<INDArray> params = new ArrayList<>(a);
        params.addAll(bm);
        run(x, y, s, rng, params, batch -> {
            List<INDArray> eff = new ArrayList<>();
            for (int k = 0; k < a.size(); k++) {
                eff.add(base.w().get(k).add(bm.get(k).mmul(a.get(k)).muli(scale)));
            }
            Grads g = backward(eff, base.b(), batch.x, batch.y);
            List<INDArray> grads = new ArrayList<>();
            for (int k = 0; k < a.size(); k++) {
                grads.add(bm.get(k).transpose().mmul(g.dw.get(k)).muli(scale)); // dA = s·Bᵀ·dW
            }
            for (int k = 0; k < a.size(); k++) {
                grads.add(g.dw.get(k).mmul(a.get(k).transpose()).muli(scale)); // dB = s·dW·Aᵀ
            }
            return grads;
        });
        Map<String, LoraModule> out = new LinkedHashMap<>();
        for (int k = 0; k < a.size(); k++) {
            out.put(base.layers().get(k), new LoraModule(base.layers().get(k), a.get(k).castTo(DataType.DOUBLE),
                    bm.get(k).castTo(DataType.DOUBLE), scale));
        }
        return out;
    }

    private record Batch(INDArray x, int[] y) {
    }

    private record Grads(List<INDArray> dw, List<INDArray> db) {
    }

    private interface GradientFn {
        List<INDArray> apply(Batch batch);
    }

    /** Mini-batch Adam over shuffled epochs. */
    private static void run(INDArray xAll, int[] yAll, Schedule s, SplittableRandom rng, List<INDArray> params, GradientFn fn) {
        INDArray x = xAll.castTo(DataType.FLOAT);
        int n = yAll.length;
        List<INDArray> m = new ArrayList<>();
        List<INDArray> v = new ArrayList<>();
        for (INDArray p : params) {
            m.add(Nd4j.zerosLike(p));
            v.add(Nd4j.zerosLike(p));
        }
        double b1 = 0.9;
        double b2 = 0.999;
        int step = 0;
        for (int epoch = 0; epoch < s.epochs(); epoch++) {
            int[] order = shuffle(n, rng);
            for (int from = 0; from < n; from += s.batch()) {
                int to = Math.min(n, from + s.batch());
                int[] idx = java.util.Arrays.copyOfRange(order, from, to);
                int[] yb = new int[idx.length];
                for (int i = 0; i < idx.length; i++) {
                    yb[i] = yAll[idx[i]];
                }
                List<INDArray> g = fn.apply(new Batch(x.getRows(idx), yb));
                step++;
                double c1 = 1 - Math.pow(b1, step);
                double c2 = 1 - Math.pow(b2, step);
                for (int k = 0; k < params.size(); k++) {
                    m.get(k).muli(b1).addi(g.get(k).mul(1 - b1));
                    v.get(k).muli(b2).addi(g.get(k).mul(g.get(k)).muli(1 - b2));
                    INDArray update = m.get(k).div(c1).divi(Transforms.sqrt(v.get(k).div(c2), false).addi(1e-8));
                    params.get(k).subi(update.muli(s.learningRate()));
                }
            }
        }
    }

    /** Softmax cross-entropy gradients of every layer's W and b for one batch. */
    private static Grads backward(List<INDArray> w, List<INDArray> b, INDArray x, int[] y) {
        int layers = w.size();
        List<INDArray> acts = new ArrayList<>();
        INDArray h = x;
        for (int k = 0; k < layers; k++) {
            acts.add(h);
            INDArray z = h.mmul(w.get(k).transpose()).addiRowVector(b.get(k));
            h = k < layers - 1 ? Transforms.tanh(z, false) : z;
        }
        int batch = y.length;
        INDArray logits = h;
        INDArray shifted = logits.subColumnVector(logits.max(1).reshape(batch, 1));
        INDArray e = Transforms.exp(shifted, false);
        INDArray dz = e.diviColumnVector(e.sum(1).reshape(batch, 1));
        for (int i = 0; i < batch; i++) {
            dz.putScalar(i, y[i], dz.getDouble(i, y[i]) - 1);
        }
        dz.divi(batch);
        List<INDArray> dw = new ArrayList<>();
        List<INDArray> db = new ArrayList<>();
        for (int k = layers - 1; k >= 0; k--) {
            dw.add(0, dz.transpose().mmul(acts.get(k)));
            db.add(0, dz.sum(0).reshape(1, dz.size(1)));
            if (k > 0) {
                INDArray dh = dz.mmul(w.get(k));
                INDArray a = acts.get(k);
                dz = dh.muli(a.mul(a).rsubi(1)); // tanh' = 1 − tanh²
            }
        }
        return new Grads(dw, db);
    }

    private static INDArray gaussian(SplittableRandom rng, long rows, long cols, double std) {
        float[] v = new float[(int) (rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (std * rng.nextGaussian());
        }
        return Nd4j.create(v, new long[]{rows, cols}, 'c');
    }

    private static INDArray uniform(SplittableRandom rng, long rows, long cols, double bound) {
        float[] v = new float[(int) (rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        return Nd4j.create(v, new long[]{rows, cols}, 'c');
    }

    private static int[] shuffle(int n, SplittableRandom rng) {
        return io.iteris.bench.data.Shuffles.permutation(n, rng);
    }
}
