package io.iteris.core.merge;

import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.LoraModule;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * WUDI and core space merging against short ports of their authors' code (github nathanielyvo/WUDI-Merging
 * {@code get_redundant_task_vector} with PyTorch's Adam; github apanariello4/core-space-merging
 * {@code get_core_matrices}, in its unoptimised form through each task's own SVDs, and {@code get_tsv_delta_w}),
 * on random LoRA layers. The ports use plain arrays and LAPACK's SVD, none of the methods' helpers.
 */
class RivalPortsTest {

    @Test
    void wudiMatchesTheAuthorsLoop() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int trial = 0; trial < 6; trial++) {
            int out = 3 + rng.nextInt(8);
            int in = 3 + rng.nextInt(8);
            int tasks = 2 + rng.nextInt(3);
            List<TaskLayer> loras = new ArrayList<>();
            List<double[][]> taus = new ArrayList<>();
            for (int t = 0; t < tasks; t++) {
                int r = 1 + rng.nextInt(3);
                double[][] a = random(rng, r, in);
                double[][] b = random(rng, out, r);
                double scale = 0.5 + rng.nextDouble();
                double coef = 0.5 + rng.nextDouble();
                loras.add(TaskLayer.ofLora("t" + t, new LoraModule("l", Matrices.of(flat(a), r, in), Matrices.of(flat(b), out, r), scale), coef, null));
                taus.add(scale(mul(b, a), scale * coef));
            }
            int steps = 40;
            double lr = 1e-2;
            double[][] expected = authorsWudi(taus, steps, lr);
            INDArray got = new WudiMethod(steps, lr, 1.0).mergeLayer(new LayerMergeInput("l", Matrices.zeros(out, in), loras, 0)).delta();
            // compare what the optimisation moved, not the starting sum it moved from
            double[][] sum = new double[out][in];
            taus.forEach(tau -> add(sum, tau, 1));
            double[][] moved = new double[out][in];
            add(moved, expected, 1);
            add(moved, sum, -1);
            double[][] gotMoved = array(got);
            add(gotMoved, sum, -1);
            double err = relative(gotMoved, moved);
            assertTrue(Math.sqrt(frob2(moved)) > 1e-3 * Math.sqrt(frob2(sum)), "the loop moves τ");
            assertTrue(err < 1e-10, "trial " + trial + ": relative difference of the moves " + err);
        }
    }

    @Test
    void coreSpaceTsvMatchesTheAuthorsAndCoreTaskArithmeticIsTaskArithmetic() {
        SplittableRandom rng = new SplittableRandom(11);
        for (int trial = 0; trial < 6; trial++) {
            int tasks = 2 + rng.nextInt(3);
            int r = 1 + rng.nextInt(3);
            int out = tasks * r + 2 + rng.nextInt(6);
            int in = tasks * r + 2 + rng.nextInt(6);
            List<TaskLayer> loras = new ArrayList<>();
            List<double[][]> as = new ArrayList<>();
            List<double[][]> bs = new ArrayList<>();
            double[][] sum = new double[out][in];
            for (int t = 0; t < tasks; t++) {
                double[][] a = random(rng, r, in);
                double[][] b = random(rng, out, r);
                loras.add(TaskLayer.ofLora("t" + t, new LoraModule("l", Matrices.of(flat(a), r, in), Matrices.of(flat(b), out, r), 1.0), 1.0, null));
                as.add(a);
                bs.add(b);
                add(sum, mul(b, a), 1);
            }
            LayerMergeInput layer = new LayerMergeInput("l", Matrices.zeros(out, in), loras, 0);
            double err = relative(array(new CoreSpaceMethod("tsv", 0.7, 0.2).mergeLayer(layer).delta()),
                    scale(authorsCoreTsv(as, bs), 0.7));
            assertTrue(err < 1e-10, "trial " + trial + ": core TSV, relative difference " + err);
            double ta = relative(array(new CoreSpaceMethod("task_arithmetic", 0.4, 0.2).mergeLayer(layer).delta()), scale(sum, 0.4));
            assertTrue(ta < 1e-12, "trial " + trial + ": core task arithmetic is task arithmetic, relative difference " + ta);
        }
        assertThrows(IllegalArgumentException.class, () -> new CoreSpaceMethod("knots", 1, 0.2));
    }

    /** {@code get_redundant_task_vector}: Adam on Σ_i ‖(τ − τ_i)τ_iᵀ‖² / ‖τ_i‖², gradient by the chain rule. */
    private static double[][] authorsWudi(List<double[][]> taus, int steps, double lr) {
        int out = taus.get(0).length;
        int in = taus.get(0)[0].length;
        double[][] tau = new double[out][in];
        taus.forEach(t -> add(tau, t, 1));
        double[][] m = new double[out][in];
        double[][] v = new double[out][in];
        for (int step = 1; step <= steps; step++) {
            double[][] grad = new double[out][in];
            for (double[][] ti : taus) {
                double[][] disturbing = new double[out][in];
                add(disturbing, tau, 1);
                add(disturbing, ti, -1);
                double[][] inner = mul(disturbing, transpose(ti));
                add(grad, mul(inner, ti), 2 / frob2(ti));
            }
            double b1 = 1 - Math.pow(0.9, step);
            double b2 = 1 - Math.pow(0.999, step);
            for (int i = 0; i < out; i++) {
                for (int j = 0; j < in; j++) {
                    m[i][j] = 0.9 * m[i][j] + 0.1 * grad[i][j];
                    v[i][j] = 0.999 * v[i][j] + 0.001 * grad[i][j] * grad[i][j];
                    tau[i][j] -= (lr / b1) * m[i][j] / (Math.sqrt(v[i][j]) / Math.sqrt(b2) + 1e-8);
                }
            }
        }
        return tau;
    }

    /** {@code get_core_matrices} (each task's SVDs, aligned by R_B and Q_A) then {@code get_tsv_delta_w}, U_B·M·V_Aᵀ. */
    private static double[][] authorsCoreTsv(List<double[][]> as, List<double[][]> bs) {
        int tasks = as.size();
        double[][] aStack = vstack(as);
        double[][] bStack = transpose(vstack(bs.stream().map(RivalPortsTest::transpose).toList()));
        double[][][] refA = svd(aStack);
        double[][][] refB = svd(bStack);
        double[][] vhARef = refA[2];
        double[][] uBRef = refB[0];
        List<double[][]> cores = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            double[][][] sa = svd(as.get(i));
            double[][][] sb = svd(bs.get(i));
            double[][] core = mul(mul(diag(sb[1][0]), mul(sb[2], sa[0])), diag(sa[1][0]));
            double[][] qa = mul(sa[2], transpose(vhARef));
            double[][] rb = mul(transpose(uBRef), sb[0]);
            cores.add(mul(mul(rb, core), qa));
        }
        // get_tsv_delta_w on the cores: each keeps its first ⌊R/T⌋ components, the slots orthogonalised by SVD
        int size = cores.get(0).length;
        int keep = size / tasks;
        double[][] sumU = new double[size][size];
        double[] sumS = new double[size];
        double[][] sumV = new double[size][size];
        for (int i = 0; i < tasks; i++) {
            double[][][] s = svd(cores.get(i));
            for (int j = 0; j < keep; j++) {
                for (int row = 0; row < size; row++) {
                    sumU[row][i * keep + j] = s[0][row][j];
                    sumV[i * keep + j][row] = s[2][j][row];
                }
                sumS[i * keep + j] = s[1][0][j];
            }
        }
        double[][][] pu = svd(sumU);
        double[][][] pv = svd(sumV);
        double[][] merged = mul(mul(mul(pu[0], pu[2]), diag(sumS)), mul(pv[0], pv[2]));
        return mul(mul(uBRef, merged), vhARef);
    }

    /** Economy SVD as {U, {s}, Vt} from LAPACK. */
    private static double[][][] svd(double[][] x) {
        int m = x.length;
        int n = x[0].length;
        Lapack.Svd s = Lapack.svd(flat(x), m, n);
        return new double[][][]{unflat(s.u(), m, s.k()), {s.s()}, unflat(s.vt(), s.k(), n)};
    }

    private static double[][] random(SplittableRandom rng, int rows, int cols) {
        double[][] x = new double[rows][cols];
        for (double[] row : x) {
            for (int j = 0; j < cols; j++) {
                row[j] = rng.nextDouble() * 2 - 1;
            }
        }
        return x;
    }

    private static double[][] mul(double[][] a, double[][] b) {
        double[][] c = new double[a.length][b[0].length];
        for (int i = 0; i < a.length; i++) {
            for (int k = 0; k < b.length; k++) {
                for (int j = 0; j < b[0].length; j++) {
                    c[i][j] += a[i][k] * b[k][j];
                }
            }
        }
        return c;
    }

    private static double[][] transpose(double[][] a) {
        double[][] t = new double[a[0].length][a.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                t[j][i] = a[i][j];
            }
        }
        return t;
    }

    private static double[][] vstack(List<double[][]> parts) {
        return parts.stream().flatMap(java.util.Arrays::stream).toArray(double[][]::new);
    }

    private static double[][] diag(double[] d) {
        double[][] x = new double[d.length][d.length];
        for (int i = 0; i < d.length; i++) {
            x[i][i] = d[i];
        }
        return x;
    }

    private static double[][] scale(double[][] a, double s) {
        double[][] x = new double[a.length][a[0].length];
        add(x, a, s);
        return x;
    }

    private static void add(double[][] y, double[][] x, double s) {
        for (int i = 0; i < y.length; i++) {
            for (int j = 0; j < y[0].length; j++) {
                y[i][j] += s * x[i][j];
            }
        }
    }

    private static double frob2(double[][] a) {
        double s = 0;
        for (double[] row : a) {
            for (double x : row) {
                s += x * x;
            }
        }
        return s;
    }

    private static double relative(double[][] got, double[][] want) {
        double[][] d = scale(got, 1);
        add(d, want, -1);
        return Math.sqrt(frob2(d) / frob2(want));
    }

    private static double[] flat(double[][] a) {
        return java.util.Arrays.stream(a).flatMapToDouble(java.util.Arrays::stream).toArray();
    }

    private static double[][] array(INDArray m) {
        return unflat(Matrices.toArray(m), Matrices.rows(m), Matrices.cols(m));
    }

    private static double[][] unflat(double[] a, int rows, int cols) {
        double[][] x = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(a, i * cols, x[i], 0, cols);
        }
        return x;
    }
}
