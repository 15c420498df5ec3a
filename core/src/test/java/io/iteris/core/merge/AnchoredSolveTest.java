package io.iteris.core.merge;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.TestVectors;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.vectors.LayerCase;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * IterIS anchored at task arithmetic: W* = [Σ ω_i ΔW_i (P_i + λ1_i I) + λ·W_TA]·[Σ ω_i (Q_i + λ2_i I) + λ I]⁻¹ with
 * W_TA = s·Σ m_i ΔW_i and λ = β·Σ ω_i ‖Q_i‖_F. (The low-rank form against the dense one on random shapes, anchors
 * included, is in {@link LowRankSolveTest}.)
 */
class AnchoredSolveTest {

    /**
     * Worked by hand. One output, two inputs; task 1 sees only input 1 (X_1 = [1 0]), task 2 only input 2
     * (X_2 = [0 1]), so at the first solve P_i = Q_i = G_i: G_1 = diag(1, 0), G_2 = diag(0, 1), ‖Q_i‖_F = 1.
     * ΔW_1 = 1·[2 1], ΔW_2 = 1·[1 3]; c_i = 1 (not adaptive), m_i = 1, no α ridges; s = 0.5, β = 0.25, so λ = 0.25·(1 + 1) = 0.5.
     * T1 = ΔW_1 G_1 + ΔW_2 G_2 + λ s (ΔW_1 + ΔW_2) = [2 0] + [0 3] + 0.25·[3 4] = [2.75 4];
     * T2 = G_1 + G_2 + λ I = 1.5·I; W* = [2.75/1.5  4/1.5] = [11/6  8/3].
     * Unanchored the same layer gives [2 3] (each task owns its input); task arithmetic at 0.5 gives [1.5 2].
     */
    @Test
    void aHandCheckedLayer() {
        IterisParameters anchored = new IterisParameters(1, 0, 0, 0, false, false, 0,
                IterisParameters.Anchor.TASK_ARITHMETIC, 0.5, 0.25);
        IterisParameters plain = new IterisParameters(1, 0, 0, 0, false, false, 0);
        for (boolean lora : new boolean[]{true, false}) {
            LayerMergeInput in = handLayer(lora);
            LayerMergeResult r = IterisSolver.solve(in, anchored);
            assertArrayEquals(new double[]{11.0 / 6, 8.0 / 3}, Matrices.toArray(r.delta()), 1e-14, lora ? "low-rank" : "dense");
            assertEquals(0.5, r.diagnostics().get("anchor_lambda")[0], 1e-15);
            assertArrayEquals(new double[]{2, 3}, Matrices.toArray(IterisSolver.solve(in, plain).delta()), 1e-14);
        }
    }

    @Test
    void aStrongAnchorReturnsTaskArithmeticAndNoAnchorThePapersSolve() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n4_40x64_unequal"));
        IterisParameters p = c.parameters();
        for (boolean lora : new boolean[]{true, false}) {
            LayerMergeInput in = c.input(true, true, lora);
            INDArray ta = TaskArithmeticMethod.weightedSum(in, 0.35);
            LayerMergeResult strong = IterisSolver.solve(in, anchor(p, 0.35, 1e9));
            double err = Matrices.relativeError(strong.delta(), ta);
            assertTrue(err < 1e-7, "β = 1e9 is task arithmetic at 0.35: relative difference " + err);
            LayerMergeResult weak = IterisSolver.solve(in, anchor(p, 0.35, 1e-12));
            LayerMergeResult paper = IterisSolver.solve(in, p);
            double err0 = Matrices.relativeError(weak.delta(), paper.delta());
            assertTrue(err0 < 1e-7, "β = 1e-12 is the paper's solve: relative difference " + err0);
            // a strength without an anchor changes nothing
            IterisParameters none = new IterisParameters(p.iterations(), p.alpha1(), p.alpha2(), p.regCoef(), p.withPretrainMatrix(),
                    p.adaptiveCoef(), 0, IterisParameters.Anchor.NONE, 0.35, 5.0);
            assertArrayEquals(Matrices.toArray(paper.delta()), Matrices.toArray(IterisSolver.solve(in, none).delta()));
            // in between, the solve moves monotonically toward the anchor as β grows
            double previous = Matrices.relativeError(paper.delta(), ta);
            for (double beta : new double[]{1e-3, 1e-2, 1e-1, 1, 10}) {
                double d = Matrices.relativeError(IterisSolver.solve(in, anchor(p, 0.35, beta)).delta(), ta);
                assertTrue(d < previous, "β " + beta + ": distance to the anchor " + d + " after " + previous);
                previous = d;
            }
        }
    }

    @Test
    void theAnchorWithThePretrainMatrixIsW0PlusTaskArithmetic() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n3_32x32_wp1_mix"));
        IterisParameters p = c.parameters();
        IterisParameters wp = new IterisParameters(1, p.alpha1(), p.alpha2(), p.regCoef(), true, true, 0,
                IterisParameters.Anchor.TASK_ARITHMETIC, 0.6, 1e9);
        LayerMergeInput in = c.input(true, true, true);
        double err = Matrices.relativeError(IterisSolver.solve(in, wp).delta(), TaskArithmeticMethod.weightedSum(in, 0.6));
        assertTrue(err < 1e-7, "relative difference " + err);
    }

    @Test
    void configNamesTheAnchorAndRefusesOthers() {
        MergeMethod m = MergeMethods.create(IterisMethod.NAME, ConfigFactory.parseMap(Map.of(
                "iteris.methods.iteris.anchor", "task_arithmetic", "iteris.methods.iteris.anchor_scale", 0.4,
                "iteris.methods.iteris.anchor_strength", 0.1)));
        IterisParameters p = ((IterisMethod) m).params();
        assertEquals(IterisParameters.Anchor.TASK_ARITHMETIC, p.anchor());
        assertEquals(0.4, p.anchorScale());
        assertEquals("task_arithmetic", m.parameters().get("anchor"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MergeMethods.create(IterisMethod.NAME,
                ConfigFactory.parseMap(Map.of("iteris.methods.iteris.anchor", "mean"))));
        assertTrue(e.getMessage().contains("iteris.methods.iteris.anchor") && e.getMessage().contains("'mean'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MergeMethods.create(IterisMethod.NAME,
                ConfigFactory.parseMap(Map.of("iteris.methods.iteris.anchor_strength", -1))));
        assertTrue(e.getMessage().contains("anchor_strength"), e.getMessage());
    }

    private static IterisParameters anchor(IterisParameters p, double scale, double strength) {
        return new IterisParameters(p.iterations(), p.alpha1(), p.alpha2(), p.regCoef(), p.withPretrainMatrix(), p.adaptiveCoef(),
                p.earlyStopTolerance(), IterisParameters.Anchor.TASK_ARITHMETIC, scale, strength);
    }

    private static LayerMergeInput handLayer(boolean lora) {
        LoraModule m1 = new LoraModule("l", row(2, 1), Nd4j.create(new double[][]{{1}}), 1.0);
        LoraModule m2 = new LoraModule("l", row(1, 3), Nd4j.create(new double[][]{{1}}), 1.0);
        GramStatistics s1 = GramStatistics.ofFeatures(row(1, 0));
        GramStatistics s2 = GramStatistics.ofFeatures(row(0, 1));
        List<TaskLayer> tasks = lora
                ? List.of(TaskLayer.ofLora("t1", m1, 1, s1), TaskLayer.ofLora("t2", m2, 1, s2))
                : List.of(new TaskLayer("t1", m1.delta(), 1, s1), new TaskLayer("t2", m2.delta(), 1, s2));
        return new LayerMergeInput("l", Nd4j.zeros(DataType.DOUBLE, 1, 2), tasks, 0);
    }

    private static INDArray row(double a, double b) {
        return Nd4j.create(new double[][]{{a, b}});
    }
}
