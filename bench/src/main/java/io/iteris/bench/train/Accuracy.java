package io.iteris.bench.train;

import io.iteris.core.model.ModelRunner;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/** Classification accuracy of a model runner with given weights. */
public final class Accuracy {
    private Accuracy() {
    }

    /** @param x [n, d] features; the runner sees them as n samples of one token */
    public static double of(ModelRunner runner, Map<String, INDArray> weights, INDArray x, int[] y) {
        return agreement(predictions(runner, weights, x), y);
    }

    /** The class the model picks for each row of x [n, d] (its largest output). */
    public static int[] predictions(ModelRunner runner, Map<String, INDArray> weights, INDArray x) {
        INDArray out = runner.run(weights, x.reshape('c', x.size(0), 1, x.size(1)), false).output();
        INDArray pred = out.reshape('c', out.size(0), out.size(2)).argMax(1);
        int[] p = new int[(int) x.size(0)];
        for (int i = 0; i < p.length; i++) {
            p[i] = pred.getInt(i);
        }
        return p;
    }

    /** The share of positions where two label vectors agree (accuracy, when one holds the true labels). */
    public static double agreement(int[] a, int[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(a.length + " predictions for " + b.length + " labels");
        }
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) {
                same++;
            }
        }
        return same / (double) a.length;
    }
}
