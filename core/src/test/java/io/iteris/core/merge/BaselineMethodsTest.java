package io.iteris.core.merge;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.TestVectors;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.vectors.LayerCase;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BaselineMethodsTest {
    private final LayerMergeInput input = LayerCase.open(TestVectors.of("layer_n4_40x64_unequal")).input(false, false);

    @Test
    void registryKnowsEveryMethodAndNamesThemWhenAskedForAnother() {
        assertEquals(List.of("iteris", "regmean", "regmean_pp", "tsv", "iso_cts", "knots", "wudi", "core_space", "ties", "dare", "task_arithmetic", "average"),
                List.copyOf(MergeMethods.names()));
        for (String name : MergeMethods.names()) {
            assertEquals(name, MergeMethods.create(name).name());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MergeMethods.create("ties_merging"));
        assertTrue(e.getMessage().contains("unknown merge method 'ties_merging'") && e.getMessage().contains("dare"));
    }

    @Test
    void methodParametersComeFromConfig() {
        MergeMethod m = MergeMethods.create("iteris", ConfigFactory.parseString("iteris.methods.iteris { iterations = 7, alpha_1 = 1e-6 }"));
        assertEquals(7, m.solves());
        assertEquals(1e-6, ((IterisMethod) m).params().alpha1());
        assertEquals(1e-4, ((IterisMethod) m).params().alpha2());
    }

    @Test
    void dareIsReproducibleAndDependsOnItsSeed() {
        INDArray a = new DareMethod(0.3, 1, 42).mergeLayer(input).delta();
        INDArray b = new DareMethod(0.3, 1, 42).mergeLayer(input).delta();
        INDArray c = new DareMethod(0.3, 1, 43).mergeLayer(input).delta();
        assertArrayEquals(Matrices.toArray(a), Matrices.toArray(b));
        assertTrue(Matrices.relativeError(c, a) > 0.1);
        long nonZero = java.util.Arrays.stream(Matrices.toArray(new DareMethod(0.3, 1, 42)
                .mergeLayer(new LayerMergeInput("l", input.w0(), input.tasks().subList(0, 1), 0)).delta())).filter(v -> v != 0).count();
        assertEquals(0.3, nonZero / (double) input.w0().length(), 0.03, "about density of the entries survive");
    }

    @Test
    void dareKeepingEverythingIsTaskArithmetic() {
        INDArray dare = new DareMethod(1.0, 0.8, 1).mergeLayer(input).delta();
        INDArray ta = new TaskArithmeticMethod(0.8).mergeLayer(input).delta();
        assertTrue(Matrices.relativeError(dare, ta) < 1e-15);
    }

    @Test
    void tiesKeepsExactlyKEntriesWithTiesToTheLowerIndex() {
        double[] v = {1, -3, 3, 2, -3, 0.5};
        assertArrayEquals(new double[]{0, -3, 3, 0, 0, 0}, TiesMethod.trim(v, 0.34));
        assertArrayEquals(new double[]{0, -3, 3, 0, 0, 0}, TiesMethod.trim(v, 2.0 / 6));
        assertArrayEquals(new double[]{0, -3, 0, 0, 0, 0}, TiesMethod.trim(v, 0.01));
    }

    @Test
    void tiesElectsTheSignAndAveragesOnlyAgreeingEntries() {
        double[][] trimmed = {{2, -1, 0, 1}, {-4, -3, 0, -1}, {1, 0, 0, 1}};
        assertArrayEquals(new double[]{-4, -2, 0, 1}, TiesMethod.disjointMean(trimmed, 1.0));
    }

    @Test
    void regMeanAveragesTheWeightsOfInputsNoCalibrationRowTouches() {
        LayerCase c = LayerCase.open(TestVectors.of("layer_n2_64x48_default"));
        INDArray x0 = c.features("X", 0);
        INDArray x1 = c.features("X", 1);
        x0.getColumn(5).assign(0);
        x1.getColumn(5).assign(0);
        LayerMergeInput in = c.input(false, false);
        List<TaskLayer> tasks = List.of(
                new TaskLayer("a", in.tasks().get(0).delta(), 1, io.iteris.core.stats.GramStatistics.ofFeatures(x0)),
                new TaskLayer("b", in.tasks().get(1).delta(), 1, io.iteris.core.stats.GramStatistics.ofFeatures(x1)));
        INDArray merged = new RegMeanMethod(1.0).mergeLayer(new LayerMergeInput("l", in.w0(), tasks, 0)).delta();
        INDArray avg = in.tasks().get(0).delta().getColumn(5).add(in.tasks().get(1).delta().getColumn(5)).muli(0.5);
        assertTrue(Matrices.relativeError(merged.getColumn(5), avg) < 1e-12, "the dead input's column is the average");
        assertTrue(Matrices.allFinite(Matrices.toArray(merged)));
    }

    @Test
    void averageIsTheMeanOfTheManuallyWeightedDeltas() {
        double[] avg = Matrices.toArray(new AverageMethod(null).mergeLayer(input).delta());
        int n = input.taskCount();
        double[] expected = new double[avg.length];
        for (TaskLayer t : input.tasks()) {
            double[] d = Matrices.toArray(t.delta());
            for (int k = 0; k < d.length; k++) {
                expected[k] += t.manualCoef() * d[k] / n;
            }
        }
        for (int k = 0; k < avg.length; k++) {
            assertEquals(expected[k], avg[k], 1e-12 * Math.max(1, Math.abs(expected[k])), "entry " + k);
        }
    }
}
