package io.iteris.core.merge;

import io.iteris.core.TestVectors;
import io.iteris.core.engine.IterationReport;
import io.iteris.core.engine.LocalMergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.SafetensorsFile;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.vectors.E2eCase;
import io.iteris.core.vectors.LayerCase;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The exact properties of the maths, beyond agreeing with the golden vectors. */
class IterisPropertiesTest {

    @Test
    void shardStatisticsAddUpToTheWhole() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n4_40x64_unequal"));
        INDArray x = c.features("X", 1);
        INDArray xt = c.features("Xtilde", 1);
        GramStatistics whole = GramStatistics.of(x, xt);
        List<GramStatistics> shards = new ArrayList<>();
        long rows = x.size(0);
        for (long from = 0; from < rows; from += 7) {
            long to = Math.min(rows, from + 7);
            shards.add(GramStatistics.of(x.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()),
                    xt.get(NDArrayIndex.interval(from, to), NDArrayIndex.all())));
        }
        GramStatistics sum = GramStatistics.sumInOrder(shards);
        assertEquals(rows, sum.rows());
        assertTrue(Matrices.relativeError(sum.g(), whole.g()) < 1e-14);
        assertTrue(Matrices.relativeError(sum.c(), whole.c()) < 1e-14);
        assertTrue(Matrices.relativeError(sum.h(), whole.h()) < 1e-14);
    }

    @Test
    void shardedMergeEqualsUnshardedMerge() {
        E2eCase e2e = E2eCase.open(TestVectors.of("e2e_mlp_feedback"));
        MergeOutcome whole = e2e.run("default", 0, null);
        MergeOutcome sharded = e2e.run("default", 2, null);
        for (String layer : whole.deltas().keySet()) {
            assertTrue(Matrices.relativeError(sharded.deltas().get(layer), whole.deltas().get(layer)) < 1e-12, layer);
        }
    }

    @Test
    void scalingOneTasksFeaturesChangesNothing() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n2_64x48_default"));
        LayerMergeInput in = c.input(true);
        List<TaskLayer> scaled = new ArrayList<>(in.tasks());
        TaskLayer t = scaled.get(1);
        GramStatistics s = GramStatistics.of(c.features("X", 1).mul(37.0), c.features("Xtilde", 1).mul(37.0));
        scaled.set(1, new TaskLayer(t.task(), t.delta(), t.manualCoef(), s));
        LayerMergeResult a = IterisSolver.solve(in, c.parameters());
        LayerMergeResult b = IterisSolver.solve(new LayerMergeInput(in.layer(), in.w0(), scaled, 1), c.parameters());
        assertTrue(Matrices.relativeError(b.delta(), a.delta()) < 1e-12);
        assertEquals(a.diagnostics().get("coef")[1] / (37.0 * 37.0), b.diagnostics().get("coef")[1], 1e-12 * a.diagnostics().get("coef")[1]);
    }

    @Test
    void firstSolveIsTheSameWithAndWithoutThePretrainMatrix() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n3_32x32_wp1_mix"));
        IterisParameters p = c.parameters();
        IterisParameters wp0 = new IterisParameters(1, p.alpha1(), p.alpha2(), p.regCoef(), false, true, 0);
        IterisParameters wp1 = new IterisParameters(1, p.alpha1(), p.alpha2(), p.regCoef(), true, true, 0);
        LayerMergeInput first = c.input(false);
        double err = Matrices.relativeError(IterisSolver.solve(first, wp1).delta(), IterisSolver.solve(first, wp0).delta());
        assertTrue(err < 1e-12, "iteration 0, wp0 vs wp1: " + err);
        // ...and they do differ once X~ differs from X
        LayerMergeInput later = c.input(true);
        assertTrue(Matrices.relativeError(IterisSolver.solve(later, wp1).delta(), IterisSolver.solve(later, wp0).delta()) > 1e-6);
    }

    @Test
    void oneSolveWithUnitWeightsAndNoRidgeIsRegMean() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n2_64x48_default"));
        IterisParameters regmeanLike = new IterisParameters(1, 0, 0, 0, false, false, 0);
        INDArray got = IterisSolver.solve(c.input(false, false), regmeanLike).delta();
        SafetensorsFile expected = SafetensorsFile.open(TestVectors.of("layer_n2_64x48_default/expected.safetensors"));
        INDArray regmean = Matrices.of(expected.readDoubles("baseline.regmean"), 64, 48);
        assertTrue(Matrices.relativeError(got, regmean) < 1e-10, "vs the vectors' RegMean");
    }

    @Test
    void oneIterisIterationWithUnitWeightsIsRegMeanEndToEnd() {
        E2eCase e2e = E2eCase.open(TestVectors.of("e2e_mlp_feedforward"));
        MergeInputs inputs = e2e.inputs(null);
        var runner = e2e.runner(DataType.DOUBLE);
        MergeOutcome iteris = new LocalMergeEngine(inputs, new IterisMethod(new IterisParameters(1, 0, 0, 0, false, false, 0)),
                runner, e2e.samples(), 0).run(null);
        MergeOutcome regmean = new LocalMergeEngine(inputs, new RegMeanMethod(1.0), runner, e2e.samples(), 0).run(null);
        for (String layer : inputs.layers()) {
            assertTrue(Matrices.relativeError(iteris.deltas().get(layer), regmean.deltas().get(layer)) < 1e-10, layer);
        }
    }

    @Test
    void feedForwardModelReachesItsFixedPointAfterThreeSolves() {
        E2eCase e2e = E2eCase.open(TestVectors.of("e2e_mlp_feedforward"));
        List<IterationReport> reports = new ArrayList<>();
        MergeInputs inputs = e2e.inputs(e2e.manualCoef("default"));
        new LocalMergeEngine(inputs, new IterisMethod(e2e.parameters("default").withIterations(5)),
                e2e.runner(DataType.DOUBLE), e2e.samples(), 0).run((r, m) -> reports.add(r));
        assertEquals(5, reports.size());
        assertTrue(reports.get(1).maxRelativeChange() > 1e-3);
        assertTrue(reports.get(2).maxRelativeChange() > 1e-3);
        assertEquals(0.0, reports.get(3).maxRelativeChange(), 1e-15, "solve 4 equals solve 3");
        assertEquals(0.0, reports.get(4).maxRelativeChange(), 1e-15, "solve 5 equals solve 4");
    }

    @Test
    void perIterationChangeMatchesTheReferenceRecord() {
        for (String name : List.of("e2e_mlp_feedback", "e2e_mlp_feedforward")) {
            E2eCase e2e = E2eCase.open(TestVectors.of(name));
            for (String config : e2e.configNames()) {
                List<IterationReport> reports = new ArrayList<>();
                e2e.run(config, 0, (r, m) -> reports.add(r));
                var listed = e2e.spec().get("iteris_configs").get(config).get("max_rel_change_of_delta_w_between_iterations");
                assertEquals(listed.size(), reports.size() - 1);
                for (int k = 1; k < reports.size(); k++) {
                    double want = listed.get(k - 1).asDouble();
                    assertEquals(want, reports.get(k).maxRelativeChange(), Math.max(1e-9 * want, 1e-13), name + " " + config + " solve " + (k + 1));
                }
            }
        }
    }

    @Test
    void earlyStopEndsTheLoopOnceConverged() {
        E2eCase e2e = E2eCase.open(TestVectors.of("e2e_mlp_feedforward"));
        IterisParameters p = e2e.parameters("default");
        IterisParameters stopping = new IterisParameters(10, p.alpha1(), p.alpha2(), p.regCoef(), p.withPretrainMatrix(), true, 1e-9);
        List<IterationReport> reports = new ArrayList<>();
        new LocalMergeEngine(e2e.inputs(null), new IterisMethod(stopping), e2e.runner(DataType.DOUBLE), e2e.samples(), 0)
                .run((r, m) -> reports.add(r));
        assertEquals(4, reports.size(), "solve 4 shows no change, so the loop stops there");
    }

    @Test
    void scalingEveryManualCoefficientTogetherChangesNothing() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n3_32x32_wp1_mix"));
        LayerMergeInput in = c.input(true);
        List<TaskLayer> scaled = in.tasks().stream()
                .map(t -> new TaskLayer(t.task(), t.delta(), t.manualCoef() * 3, t.stats())).toList();
        INDArray a = IterisSolver.solve(in, c.parameters()).delta();
        INDArray b = IterisSolver.solve(new LayerMergeInput(in.layer(), in.w0(), scaled, 1), c.parameters()).delta();
        assertTrue(Matrices.relativeError(b, a) < 1e-12);
    }
}
