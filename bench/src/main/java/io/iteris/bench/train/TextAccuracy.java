package io.iteris.bench.train;

import io.iteris.bench.data.TextTasks;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.ModelRunner;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * How often a task's head, on the mean-pooled last hidden states of the encoder with the given weights,
 * picks the right class: the text benchmark's measure (each task keeps its own head; only the encoder's
 * LoRAs merge).
 */
public final class TextAccuracy {
    private TextAccuracy() {
    }

    /** Ids [N, T] (−1 = padding) as the runner's [N, T, 1] samples. */
    public static INDArray samples(TextTasks.TextSet set) {
        return Nd4j.create(TextTasks.flat(set.ids()), new long[]{set.size(), set.tokens(), 1}, 'c');
    }

    /**
     * @param head [W (classes×hidden), b (classes)]
     */
    public static double of(ModelRunner runner, Map<String, INDArray> weights, TextTasks.TextSet set, INDArray[] head) {
        return Accuracy.agreement(predictions(runner, weights, set, head), set.labels());
    }

    /** The class the head picks for each text of the set. */
    public static int[] predictions(ModelRunner runner, Map<String, INDArray> weights, TextTasks.TextSet set, INDArray[] head) {
        INDArray hidden = runner.run(weights, samples(set), false).output();
        int h = (int) hidden.size(2);
        int t = set.tokens();
        double[] states = Matrices.toArray(hidden.reshape('c', (long) set.size() * t, h));
        double[] w = Matrices.toArray(head[0]);
        double[] b = Matrices.toArray(head[1].reshape(1, -1));
        int classes = b.length;
        int[] picked = new int[set.size()];
        double[] pooled = new double[h];
        for (int i = 0; i < set.size(); i++) {
            java.util.Arrays.fill(pooled, 0);
            int real = 0;
            for (int j = 0; j < t; j++) {
                if (set.ids()[i][j] >= 0) {
                    int row = (i * t + j) * h;
                    for (int k = 0; k < h; k++) {
                        pooled[k] += states[row + k];
                    }
                    real++;
                }
            }
            int best = 0;
            double bestLogit = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                double logit = b[c];
                for (int k = 0; k < h; k++) {
                    logit += w[c * h + k] * pooled[k] / Math.max(real, 1);
                }
                if (logit > bestLogit) {
                    bestLogit = logit;
                    best = c;
                }
            }
            picked[i] = best;
        }
        return picked;
    }
}
