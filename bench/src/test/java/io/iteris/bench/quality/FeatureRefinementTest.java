package io.iteris.bench.quality;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

class FeatureRefinementTest {

    private static INDArray random(Random r, int rows, int cols, double scale) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = scale * r.nextGaussian();
        }
        return Nd4j.create(v, new long[]{rows, cols}, DataType.DOUBLE);
    }

    /** The hand-written gradient against central differences of the loss, with and without the activation. */
    @Test
    void gradientMatchesFiniteDifferences() {
        Random r = new Random(7);
        for (boolean tanh : new boolean[]{true, false}) {
            List<INDArray> xs = List.of(random(r, 6, 4, 1), random(r, 9, 4, 1));
            List<INDArray> ys = List.of(Transforms.tanh(random(r, 6, 3, 1)), random(r, 9, 3, 1));
            INDArray w = random(r, 3, 4, 0.5);
            INDArray bias = random(r, 1, 3, 0.3);
            INDArray g = FeatureRefinement.gradient(xs, ys, w, bias, tanh);
            double h = 1e-6;
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 4; j++) {
                    INDArray up = w.dup();
                    up.putScalar(i, j, w.getDouble(i, j) + h);
                    INDArray down = w.dup();
                    down.putScalar(i, j, w.getDouble(i, j) - h);
                    double fd = (FeatureRefinement.loss(xs, ys, up, bias, tanh) - FeatureRefinement.loss(xs, ys, down, bias, tanh)) / (2 * h);
                    double got = g.getDouble(i, j);
                    assertTrue(Math.abs(fd - got) <= 1e-6 * Math.max(1, Math.abs(fd)), "tanh " + tanh + " (" + i + "," + j + "): " + got + " vs " + fd);
                }
            }
        }
    }

    /** Adam on the factors recovers a layer whose outputs come from a rank-2 update of W0, from a wrong start. */
    @Test
    void fittingTheFactorsReachesAReachableTarget() {
        Random r = new Random(11);
        INDArray w0 = random(r, 5, 8, 0.3);
        INDArray bias = random(r, 1, 5, 0.1);
        INDArray target = w0.add(random(r, 5, 2, 0.5).mmul(random(r, 2, 8, 0.5)));
        List<INDArray> xs = List.of(random(r, 40, 8, 1), random(r, 40, 8, 1));
        List<INDArray> ys = xs.stream().map(x -> Transforms.tanh(x.mmul(target.transpose()).addiRowVector(bias))).toList();
        INDArray b = random(r, 5, 2, 0.1);
        INDArray a = random(r, 2, 8, 0.1);
        double before = FeatureRefinement.loss(xs, ys, w0.add(b.mmul(a)), bias, true);
        FeatureRefinement.fitLayer(xs, ys, w0, bias, true, b, a, new FeatureRefinement.Settings(1e-2, 2000));
        double after = FeatureRefinement.loss(xs, ys, w0.add(b.mmul(a)), bias, true);
        assertTrue(after < 1e-3 * before, "loss " + before + " -> " + after);
    }
}
