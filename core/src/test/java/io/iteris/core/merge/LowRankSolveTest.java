package io.iteris.core.merge;

import io.iteris.core.TestVectors;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.vectors.LayerCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The exact low-rank solve (LoRA updates) against the dense textbook solve it replaces: the same maths, so the
 * two agree to rounding on the golden cases and on random ones of every shape and setting.
 */
class LowRankSolveTest {
    private static final double TOL = 1e-12;

    @ParameterizedTest
    @ValueSource(strings = {"layer_n2_256x256_rslora", "layer_n2_64x48_default", "layer_n3_32x32_wp1_mix", "layer_n4_40x64_unequal"})
    void agreesWithTheDenseSolveOnTheGoldenCases(String name) {
        LayerCase c = LayerCase.open(TestVectors.of(name));
        for (boolean tilde : new boolean[]{false, true}) {
            LayerMergeInput lora = c.input(tilde, true, true);
            LayerMergeInput dense = c.input(tilde, true, false);
            assertTrue(lora.allLora());
            LayerMergeResult low = IterisSolver.solve(lora, c.parameters());
            LayerMergeResult ref = IterisSolver.solveDense(dense, c.parameters());
            assertClose(ref.delta(), low.delta(), name + (tilde ? "" : " iteration 0"));
            for (String k : ref.diagnostics().keySet()) {
                assertArrayEquals(ref.diagnostics().get(k), low.diagnostics().get(k), 1e-13 * max(ref.diagnostics().get(k)), k);
            }
        }
    }

    @Test
    void agreesWithTheDenseSolveOnRandomShapesAndSettings() {
        Random rng = new Random(20261129);
        Nd4j.getRandom().setSeed(20261129);
        for (int trial = 0; trial < 90; trial++) {
            int out = 1 + rng.nextInt(40);
            int in = 1 + rng.nextInt(48);
            int n = 1 + rng.nextInt(5);
            boolean pretrain = rng.nextBoolean();
            double rho = rng.nextInt(3) == 0 ? 0.3 * rng.nextDouble() : 0;
            double alpha1 = rng.nextBoolean() ? 0 : 1e-3 * rng.nextDouble();
            boolean anchored = rng.nextInt(3) > 0;
            IterisParameters p = new IterisParameters(1, alpha1, 1e-4 + 1e-2 * rng.nextDouble(), rho, pretrain, rng.nextBoolean(), 0,
                    anchored ? IterisParameters.Anchor.TASK_ARITHMETIC : IterisParameters.Anchor.NONE,
                    0.1 + rng.nextDouble(), anchored ? Math.pow(10, -4 + 5 * rng.nextDouble()) : 0);
            List<TaskLayer> lora = new ArrayList<>();
            List<TaskLayer> dense = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int r = 1 + rng.nextInt(Math.min(8, Math.min(in, out)));
                LoraModule m = new LoraModule("l", Nd4j.randn(DataType.DOUBLE, r, in), Nd4j.randn(DataType.DOUBLE, out, r),
                        0.5 + rng.nextDouble());
                int rows = 1 + rng.nextInt(3 * in);
                INDArray x = Nd4j.randn(DataType.DOUBLE, rows, in);
                GramStatistics s = rng.nextInt(4) == 0 ? GramStatistics.ofFeatures(x)
                        : GramStatistics.of(x, x.add(Nd4j.randn(DataType.DOUBLE, rows, in).muli(0.2)));
                double manual = 0.5 + rng.nextDouble();
                lora.add(TaskLayer.ofLora("t" + i, m, manual, s));
                dense.add(new TaskLayer("t" + i, m.delta(), manual, s));
            }
            INDArray w0 = Nd4j.randn(DataType.DOUBLE, out, in);
            String what = "trial " + trial + ": out " + out + ", in " + in + ", tasks " + n + ", " + p;
            LayerMergeResult low = IterisSolver.solve(new LayerMergeInput("l", w0, lora, 1), p);
            LayerMergeResult ref = IterisSolver.solveDense(new LayerMergeInput("l", w0, dense, 1), p);
            assertClose(ref.delta(), low.delta(), what);
            if (!pretrain) {
                assertNotNull(low.factors(), what);
                assertClose(low.delta(), low.factors().b().mmul(low.factors().a()), what + ": factors");
                assertEquals(lora.stream().mapToInt(t -> t.lora().rank()).sum(), Matrices.cols(low.factors().b()), what);
            } else {
                assertNull(low.factors(), what);
            }
        }
    }

    @Test
    void coefficientsHandedBackGiveTheSameSolveWithoutG() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n4_40x64_unequal"));
        IterisParameters p = c.parameters();
        IterisParameters rho0 = new IterisParameters(1, p.alpha1(), p.alpha2(), 0, p.withPretrainMatrix(), true, 0);
        LayerMergeInput full = c.input(true);
        LayerMergeResult first = IterisSolver.solve(full, rho0);
        List<TaskLayer> withoutG = full.tasks().stream()
                .map(t -> t.with(t.manualCoef(), new GramStatistics(null, t.stats().c(), t.stats().h(), t.stats().rows()))).toList();
        LayerMergeInput later = new LayerMergeInput(full.layer(), full.w0(), withoutG, 2, first.diagnostics().get("coef"));
        LayerMergeResult again = IterisSolver.solve(later, rho0);
        assertArrayEquals(Matrices.toArray(first.delta()), Matrices.toArray(again.delta()), "bit for bit");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IterisSolver.solve(new LayerMergeInput(full.layer(), full.w0(), withoutG, 2), rho0));
        assertTrue(e.getMessage().contains("needs G"), e.getMessage());
    }

    @Test
    void regMeanTakesTheLowRankPathAndAgreesWithTheDenseOne() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n4_40x64_unequal"));
        RegMeanMethod regmean = new RegMeanMethod(0.9);
        LayerMergeResult low = regmean.mergeLayer(c.input(false, false, true));
        LayerMergeResult ref = regmean.mergeLayer(c.input(false, false, false));
        assertNotNull(low.factors());
        assertNull(ref.factors());
        assertClose(ref.delta(), low.delta(), "regmean");
    }

    private static void assertClose(INDArray expected, INDArray got, String what) {
        double err = Matrices.relativeError(got, expected);
        assertTrue(err < TOL, what + ": relative difference " + err);
    }

    private static double max(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }
}
