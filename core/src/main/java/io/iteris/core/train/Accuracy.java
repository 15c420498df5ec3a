package io.iteris.core.train;

import io.iteris.core.model.ModelRunner;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/** Classification accuracy of a model runner with given weights. */
public final class Accuracy {
    private Accuracy() {
    }

    /** @param x [n, d] features; the runner sees them as n samples of one token */
    public static double of(ModelRunner runner, Map<String, INDArray> weights, INDArray x, int[] y) {
        INDArray out = runner.run(weights, x.reshape('c', x.size(0), 1, x.size(1)), false).output();
        INDArray logits = out.reshape('c', out.size(0), out.size(2));
        INDArray pred = logits.argMax(1);
        int correct = 0;
        for (int i = 0; i < y.length; i++) {
            if (pred.getInt(i) == y[i]) {
                correct++;
            }
        }
        return correct / (double) y.length;
    }
}
