package io.iteris.core.merge;

import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.LoraModule;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TSV-M, Iso-C/Iso-CTS and KnOTS: small cases worked out by hand, and random LoRA layers against plain dense
 * implementations of the papers' recipes written out here (full SVDs of the dense updates, no factor tricks).
 * KnOTS against a port of its authors' code over whole models: {@link KnotsPortTest}.
 */
class SvdMergeMethodsTest {
    private static final double TOL = 1e-10;

    /** e_i f_jᵀ·s in an out×in matrix. */
    private static INDArray outer(int out, int in, int i, int j, double s) {
        INDArray m = Matrices.zeros(out, in);
        m.putScalar(i, j, s);
        return m;
    }

    private static LayerMergeInput dense(List<INDArray> deltas) {
        List<TaskLayer> tasks = new ArrayList<>();
        for (int i = 0; i < deltas.size(); i++) {
            tasks.add(new TaskLayer("t" + i, deltas.get(i), 1.0, null));
        }
        return new LayerMergeInput("layer", Matrices.zeros(deltas.get(0).size(0), deltas.get(0).size(1)), tasks, 0);
    }

    private static void assertClose(INDArray expected, INDArray got, String what) {
        double err = Matrices.relativeError(got, expected);
        assertTrue(err < TOL, what + ": relative error " + err);
    }

    @Test
    void orthogonalTasksAreLeftAsTheirSumByTsvAndFlattenedByIsoC() {
        // ΔW_1 = 3·e0 f1ᵀ and ΔW_2 = 1·e2 f0ᵀ: orthogonal singular vectors, nothing to remove
        INDArray d1 = outer(4, 3, 0, 1, 3);
        INDArray d2 = outer(4, 3, 2, 0, 1);
        LayerMergeInput in = dense(List.of(d1, d2));
        assertClose(d1.add(d2), new TsvMethod(1.0, 1.0).mergeLayer(in).delta(), "TSV of orthogonal tasks");
        // Iso-C: singular values (3, 1) become their mean 2
        assertClose(outer(4, 3, 0, 1, 2).add(outer(4, 3, 2, 0, 2)), new IsoCtsMethod(1.0, 1.0).mergeLayer(in).delta(), "Iso-C");
        assertClose(outer(4, 3, 0, 1, 1).add(outer(4, 3, 2, 0, 1)), new IsoCtsMethod(1.0, 0.5).mergeLayer(in).delta(), "λ scales");
    }

    @Test
    void tsvMakesTwoTasksSharingADirectionOrthogonal() {
        // ΔW_1 = 2·e0 f0ᵀ, ΔW_2 = 2·u f1ᵀ with u = (e0+e1)/√2: left vectors [e0, u] at 45°. Their polar factor is the
        // rotation of both by ∓22.5° onto orthogonal unit vectors symmetric about u's bisector: by hand,
        // p = (cos 22.5° , −sin 22.5°)… worked below as the closed form of ([e0 u]·([e0 u]ᵀ[e0 u])^{-1/2}).
        double r = 1 / Math.sqrt(2);
        INDArray d1 = outer(2, 2, 0, 0, 2);
        INDArray d2 = Matrices.of(new double[]{0, 2 * r, 0, 2 * r}, 2, 2);
        INDArray got = new TsvMethod(1.0, 1.0).mergeLayer(dense(List.of(d1, d2))).delta();
        // X = [[1, r], [0, r]]; XᵀX = [[1, r], [r, 1]] with eigenvalues 1±r, eigenvectors (1, ±1)/√2
        double a = 1 / Math.sqrt(1 + r);
        double b = 1 / Math.sqrt(1 - r);
        // (XᵀX)^{-1/2} = ½[[a+b, a−b], [a−b, a+b]]
        double[][] inv = {{(a + b) / 2, (a - b) / 2}, {(a - b) / 2, (a + b) / 2}};
        double[][] x = {{1, r}, {0, r}};
        double[][] u = new double[2][2];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                u[i][j] = x[i][0] * inv[0][j] + x[i][1] * inv[1][j];
            }
        }
        // right vectors f0, f1 are orthonormal already: ΔW = 2·u_0 f0ᵀ + 2·u_1 f1ᵀ
        INDArray expected = Matrices.of(new double[]{2 * u[0][0], 2 * u[0][1], 2 * u[1][0], 2 * u[1][1]}, 2, 2);
        assertClose(expected, got, "TSV of two tasks at 45°");
        INDArray gram = Blas.crossGram(got, got);
        assertEquals(4, gram.getDouble(0, 0), 1e-12, "orthogonal columns of norm 2");
        assertEquals(0, gram.getDouble(0, 1), 1e-12);
    }

    @Test
    void tsvKeepsOneTthOfALayersComponentsPerTaskAsItsAuthorsDo() {
        // 2×2 layer, two tasks: each keeps ⌊2/2⌋ = 1 component. ΔW_1 = 3·e0f0ᵀ + 1·e1f1ᵀ keeps 3·e0f0ᵀ, ΔW_2 = 2·e1f1ᵀ +
        // 0.5·e0f0ᵀ keeps 2·e1f1ᵀ; those are orthogonal already, so TSV-M gives diag(3, 2)
        INDArray d1 = outer(2, 2, 0, 0, 3).addi(outer(2, 2, 1, 1, 1));
        INDArray d2 = outer(2, 2, 1, 1, 2).addi(outer(2, 2, 0, 0, 0.5));
        assertClose(outer(2, 2, 0, 0, 3).addi(outer(2, 2, 1, 1, 2)), new TsvMethod(1.0, 1.0).mergeLayer(dense(List.of(d1, d2))).delta(), "TSV-M");
    }

    @Test
    void knotsAlignsTasksInOneBasisAndWithNothingTrimmedMatchesTiesDisjointMean() {
        // ΔW_1 = 3·e0 f0ᵀ, ΔW_2 = 4·e0 f1ᵀ: side by side e0·[3 f0ᵀ | 4 f1ᵀ] = U S Vᵀ with S = 5, V_1 = 0.6 f0ᵀ, V_2 = 0.8 f1ᵀ;
        // disjoint entries survive the disjoint mean, so ΔW = 5·e0·(0.6 f0 + 0.8 f1)ᵀ = ΔW_1 + ΔW_2
        INDArray d1 = outer(3, 2, 0, 0, 3);
        INDArray d2 = outer(3, 2, 0, 1, 4);
        assertClose(d1.add(d2), new KnotsMethod("ties", 1.0, 1.0, 1).mergeLayer(dense(List.of(d1, d2))).delta(), "KnOTS-TIES");
        // opposite updates of one entry: the elected sign keeps the larger one's entry alone
        INDArray d3 = outer(3, 2, 0, 0, -1);
        assertClose(d1, new KnotsMethod("ties", 1.0, 1.0, 1).mergeLayer(dense(List.of(d1, d3))).delta(), "sign election");
    }

    @Test
    void randomLoraLayersMatchDenseImplementationsOfThePapers() {
        SplittableRandom rng = new SplittableRandom(15);
        for (int trial = 0; trial < 12; trial++) {
            int out = 6 + rng.nextInt(20);
            int in = 6 + rng.nextInt(20);
            int tasks = 1 + rng.nextInt(4);
            List<TaskLayer> loras = new ArrayList<>();
            List<INDArray> deltas = new ArrayList<>();
            for (int t = 0; t < tasks; t++) {
                int r = 1 + rng.nextInt(Math.min(4, Math.min(out, in) / tasks));
                INDArray a = random(rng, r, in);
                INDArray b = random(rng, out, r);
                double scale = 0.5 + rng.nextDouble();
                double coef = 0.5 + rng.nextDouble();
                loras.add(TaskLayer.ofLora("t" + t, new LoraModule("layer", a, b, scale), coef, null));
                deltas.add(Blas.mmul(b, a).muli(scale * coef));
            }
            LayerMergeInput in0 = new LayerMergeInput("layer", Matrices.zeros(out, in), loras, 0);
            String shape = out + "x" + in + ", " + tasks + " tasks";
            double keep = rng.nextBoolean() ? 1.0 : 0.5;
            LayerMergeResult tsv = new TsvMethod(keep, 0.7).mergeLayer(in0);
            assertClose(denseTsv(deltas, keep).muli(0.7), tsv.delta(), "TSV " + shape);
            assertClose(tsv.delta(), Blas.mmul(tsv.factors().b(), tsv.factors().a()), "TSV factors " + shape);
            for (double common : new double[]{1.0, 0.8, 0.5}) {
                LayerMergeResult iso = new IsoCtsMethod(common, 1.3).mergeLayer(in0);
                assertClose(denseIsoCts(deltas, common).muli(1.3), iso.delta(), "Iso-CTS " + common + " " + shape);
                assertClose(iso.delta(), Blas.mmul(iso.factors().b(), iso.factors().a()), "Iso-CTS factors " + shape);
            }
        }
    }

    private static INDArray random(SplittableRandom rng, int rows, int cols) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        return Matrices.of(v, rows, cols);
    }

    /** Full SVD of a dense matrix, as [U (m×k), s (k), Vt (k×n)] with numerically zero components dropped. */
    private static Object[] svd(INDArray m) {
        int rows = Matrices.rows(m);
        int cols = Matrices.cols(m);
        Lapack.Svd s = Lapack.svd(Matrices.toArray(m), rows, cols);
        int k = 0;
        while (k < s.k() && s.s()[k] > 1e-12 * s.s()[0]) {
            k++;
        }
        INDArray u = Matrices.of(s.u(), rows, s.k()).get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, k)).dup();
        INDArray vt = Matrices.of(s.vt(), s.k(), cols).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, k),
                org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
        return new Object[]{u, java.util.Arrays.copyOf(s.s(), k), vt};
    }

    private static INDArray polar(INDArray x) {
        Lapack.Svd full = Lapack.svd(Matrices.toArray(x), Matrices.rows(x), Matrices.cols(x));
        return Matrices.of(full.u(), Matrices.rows(x), full.k()).mmul(Matrices.of(full.vt(), full.k(), Matrices.cols(x)));
    }

    private static INDArray cols(INDArray m, int k) {
        return m.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, k)).dup();
    }

    private static INDArray rows(INDArray m, int k) {
        return m.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, k), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
    }

    private static INDArray denseTsv(List<INDArray> deltas, double keep) {
        List<INDArray> us = new ArrayList<>();
        List<INDArray> vs = new ArrayList<>();
        List<Double> sigma = new ArrayList<>();
        for (INDArray d : deltas) {
            Object[] s = svd(d);
            double[] values = (double[]) s[1];
            int k = Math.min(Math.min(Matrices.rows(d), Matrices.cols(d)) / deltas.size(), Math.max(1, (int) Math.round(keep * values.length)));
            us.add(cols((INDArray) s[0], k));
            vs.add(rows((INDArray) s[2], k));
            for (int j = 0; j < k; j++) {
                sigma.add(values[j]);
            }
        }
        return compose(us, vs, sigma);
    }

    private static INDArray compose(List<INDArray> us, List<INDArray> vs, List<Double> sigma) {
        INDArray u = polar(Nd4j.hstack(us.toArray(new INDArray[0])));
        INDArray v = polar(Nd4j.vstack(vs.toArray(new INDArray[0])).transpose().dup());
        INDArray s = Nd4j.diag(Nd4j.createFromArray(sigma.stream().mapToDouble(Double::doubleValue).toArray()));
        return u.mmul(s).mmul(v.transpose());
    }

    private static INDArray denseIsoCts(List<INDArray> deltas, double common) {
        INDArray sum = deltas.get(0).dup();
        for (int i = 1; i < deltas.size(); i++) {
            sum.addi(deltas.get(i));
        }
        Object[] s = svd(sum);
        int rank = ((double[]) s[1]).length;
        int tasks = deltas.size();
        int perTask = Math.min(rank / tasks, (int) Math.round((rank - Math.floor(common * rank)) / tasks));
        int k = rank - tasks * perTask;
        INDArray uk = cols((INDArray) s[0], k);
        List<INDArray> us = new ArrayList<>();
        List<INDArray> vs = new ArrayList<>();
        List<Double> sigma = new ArrayList<>();
        for (INDArray d : deltas) {
            if (perTask == 0) {
                break;
            }
            Object[] t = svd(k == 0 ? d : d.sub(uk.mmul(uk.transpose()).mmul(d)));
            int kt = Math.min(perTask, ((double[]) t[1]).length);
            us.add(cols((INDArray) t[0], kt));
            vs.add(rows((INDArray) t[2], kt));
            for (int j = 0; j < kt; j++) {
                sigma.add(((double[]) t[1])[j]);
            }
        }
        if (k > 0) {
            us.add(uk);
            vs.add(rows((INDArray) s[2], k));
        }
        for (int j = 0; j < k; j++) {
            sigma.add(((double[]) s[1])[j]);
        }
        double mean = sigma.stream().mapToDouble(Double::doubleValue).average().orElse(0);
        List<Double> flat = sigma.stream().map(x -> mean).toList();
        return compose(us, vs, flat);
    }
}
