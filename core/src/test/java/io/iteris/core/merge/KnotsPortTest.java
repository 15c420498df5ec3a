package io.iteris.core.merge;

import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.LoraModule;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KnOTS against a short port of its authors' code (github gstoica27/KnOTS: {@code SVDMerger.apply_svd} and
 * {@code merge}, {@code masking_ops.ties_masking}, {@code topk_values_mask}, {@code resolve_sign},
 * {@code masked_merge}), run on small random models of several LoRA layers: the dense concatenated updates' SVD,
 * S multiplied onto each task's V, the task's whole representation (every layer) trimmed, signs elected over it
 * with the majority of the whole vector for zeros, the weighted disjoint mean, U times the result. The port shares
 * only LAPACK's SVD and, for DARE, the seeded random stream (a documented departure) with the method.
 */
class KnotsPortTest {

    @Test
    void matchesTheAuthorsRecipeOnWholeModels() {
        SplittableRandom rng = new SplittableRandom(2025);
        for (int trial = 0; trial < 8; trial++) {
            int tasks = 2 + rng.nextInt(3);
            int layers = 1 + rng.nextInt(3);
            List<LayerMergeInput> model = new ArrayList<>();
            List<List<INDArray>> deltas = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                int out = 4 + rng.nextInt(12);
                int in = 4 + rng.nextInt(12);
                List<TaskLayer> loras = new ArrayList<>();
                List<INDArray> d = new ArrayList<>();
                for (int t = 0; t < tasks; t++) {
                    int r = 1 + rng.nextInt(3);
                    INDArray a = random(rng, r, in);
                    INDArray b = random(rng, out, r);
                    double scale = 0.5 + rng.nextDouble();
                    double coef = 0.5 + rng.nextDouble();
                    loras.add(TaskLayer.ofLora("t" + t, new LoraModule("layer" + l, a, b, scale), coef, null));
                    d.add(b.mmul(a).muli(scale * coef));
                }
                model.add(new LayerMergeInput("layer" + l, Matrices.zeros(out, in), loras, 0));
                deltas.add(d);
            }
            for (String merge : List.of("ties", "dare")) {
                for (double density : new double[]{0.2, 0.5, 0.9}) {
                    MergeMethod m = new KnotsMethod(merge, density, 0.7, 11).prepare(model);
                    List<double[]> expected = authors(model, deltas, merge, density, 0.7, 11);
                    for (int l = 0; l < layers; l++) {
                        LayerMergeResult r = m.mergeLayer(model.get(l));
                        INDArray want = Matrices.of(expected.get(l), Matrices.rows(r.delta()), Matrices.cols(r.delta()));
                        double err = Matrices.relativeError(r.delta(), want);
                        assertTrue(err < 1e-10, "trial " + trial + ", KnOTS-" + merge + " density " + density + ", layer " + l
                                + ": relative difference " + err);
                        assertTrue(Matrices.relativeError(r.delta(), r.factors().b().mmul(r.factors().a())) < 1e-12);
                    }
                }
            }
        }
    }

    @Test
    void theTrimIsOverTheWholeModelNotEachLayer() {
        // two layers, both tasks' updates large in layer 0 and small in layer 1: trimmed over the whole model at density
        // 0.4 (each task keeps ⌊24·0.4⌋ + 1 = 10 of its 24 entries), layer 1 keeps nothing; alone it keeps 5 of 12
        SplittableRandom rng = new SplittableRandom(3);
        List<LayerMergeInput> model = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            double size = l == 0 ? 100 : 0.01;
            List<TaskLayer> loras = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                loras.add(TaskLayer.ofLora("t" + t, new LoraModule("layer" + l, random(rng, 1, 6), random(rng, 6, 1), size), 1, null));
            }
            model.add(new LayerMergeInput("layer" + l, Matrices.zeros(6, 6), loras, 0));
        }
        KnotsMethod plain = new KnotsMethod("ties", 0.4, 1.0, 1);
        MergeMethod prepared = plain.prepare(model);
        assertNotSame(plain, prepared);
        assertSame(prepared, prepared.prepare(model), "preparing twice changes nothing");
        assertTrue(Matrices.frobenius(prepared.mergeLayer(model.get(1)).delta()) == 0, "layer 1 trimmed away");
        assertTrue(Matrices.frobenius(plain.mergeLayer(model.get(1)).delta()) > 0, "alone, layer 1 keeps its top half");
        MergeMethod dare = new KnotsMethod("dare", 0.5, 1.0, 1);
        assertSame(dare, dare.prepare(model), "KnOTS-DARE trims nothing: nothing to prepare");
    }

    /** The authors' pipeline, one array per layer (ΔW row-major). */
    private static List<double[]> authors(List<LayerMergeInput> model, List<List<INDArray>> deltas, String merge, double density,
                                          double lambda, long seed) {
        int tasks = deltas.get(0).size();
        List<double[]> us = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        List<double[][]> sv = new ArrayList<>();
        for (int l = 0; l < deltas.size(); l++) {
            int out = Matrices.rows(deltas.get(l).get(0));
            int in = Matrices.cols(deltas.get(l).get(0));
            double[] cat = new double[out * tasks * in];
            for (int t = 0; t < tasks; t++) {
                double[] d = Matrices.toArray(deltas.get(l).get(t));
                for (int row = 0; row < out; row++) {
                    System.arraycopy(d, row * in, cat, row * tasks * in + t * in, in);
                }
            }
            Lapack.Svd svd = Lapack.svd(cat, out, tasks * in);
            int k = 0;
            while (k < svd.k() && svd.s()[k] > 1e-12 * svd.s()[0]) {
                k++;
            }
            double[] u = new double[out * k];
            for (int row = 0; row < out; row++) {
                System.arraycopy(svd.u(), row * svd.k(), u, row * k, k);
            }
            double[][] taskSv = new double[tasks][k * in];
            for (int t = 0; t < tasks; t++) {
                SplittableRandom dare = new SplittableRandom(DareMethod.streamSeed(seed, model.get(l).layer(), t));
                for (int j = 0; j < k; j++) {
                    for (int c = 0; c < in; c++) {
                        double x = svd.s()[j] * svd.vt()[j * tasks * in + t * in + c];
                        if (merge.equals("dare")) {
                            x = dare.nextDouble() < density ? x * (1 / density) : 0;
                        }
                        taskSv[t][j * in + c] = x;
                    }
                }
            }
            us.add(u);
            shapes.add(new int[]{out, k, in});
            sv.add(taskSv);
        }
        // directions_to_reps: each task's vector is every layer's S·V_i flattened, end to end
        int total = shapes.stream().mapToInt(s -> s[1] * s[2]).sum();
        double[][] reps = new double[tasks][total];
        int at = 0;
        for (int l = 0; l < sv.size(); l++) {
            for (int t = 0; t < tasks; t++) {
                System.arraycopy(sv.get(l)[t], 0, reps[t], at, sv.get(l)[t].length);
            }
            at += sv.get(l)[0].length;
        }
        // topk_values_mask(K = topK): keep |x| >= the k-th smallest magnitude, k = d - int(d·K); KnOTS-DARE uses topK 100
        double topK = merge.equals("ties") ? density : 1.0;
        if (topK < 1) {
            for (double[] rep : reps) {
                double[] mags = Arrays.stream(rep).map(Math::abs).sorted().toArray();
                double kth = mags[total - (int) (total * topK) - 1];
                for (int j = 0; j < total; j++) {
                    if (!(Math.abs(rep[j]) >= kth)) {
                        rep[j] = 0;
                    }
                }
            }
        }
        // resolve_sign(sum_of_values), zeros to the majority sign of the whole vector; ties mask; masked_merge('mean')
        double[] sign = new double[total];
        for (int j = 0; j < total; j++) {
            double s = 0;
            for (double[] rep : reps) {
                s += rep[j];
            }
            sign[j] = Math.signum(s);
        }
        double majority = Math.signum(Arrays.stream(sign).sum());
        double[] merged = new double[total];
        for (int j = 0; j < total; j++) {
            double e = sign[j] == 0 ? majority : sign[j];
            double sum = 0;
            int count = 0;
            for (double[] rep : reps) {
                boolean keep = e > 0 ? rep[j] > 0 : rep[j] < 0;
                double v = keep ? rep[j] * lambda : 0;
                sum += v;
                count += v != 0 ? 1 : 0;
            }
            merged[j] = sum / Math.max(count, 1);
        }
        // reconstruct_merged_sd: U @ merged S·V per layer
        List<double[]> result = new ArrayList<>();
        at = 0;
        for (int l = 0; l < sv.size(); l++) {
            int out = shapes.get(l)[0];
            int k = shapes.get(l)[1];
            int in = shapes.get(l)[2];
            double[] d = new double[out * in];
            for (int row = 0; row < out; row++) {
                for (int j = 0; j < k; j++) {
                    double u = us.get(l)[row * k + j];
                    for (int c = 0; c < in; c++) {
                        d[row * in + c] += u * merged[at + j * in + c];
                    }
                }
            }
            at += k * in;
            result.add(d);
        }
        return result;
    }

    private static INDArray random(SplittableRandom rng, int rows, int cols) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextDouble() * 2 - 1;
        }
        return Matrices.of(v, rows, cols);
    }
}
