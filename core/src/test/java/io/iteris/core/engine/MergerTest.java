package io.iteris.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.iteris.core.TestFiles;
import io.iteris.core.TestVectors;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.export.DenseExporter;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.AdapterException;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsException;
import io.iteris.core.safetensors.SafetensorsFile;
import io.iteris.core.safetensors.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A whole merge from settings to a published PEFT adapter, and every way its inputs can be bad. */
class MergerTest {
    @TempDir
    Path tmp;

    private Path caseDir() {
        return TestFiles.copyTree(TestVectors.of("e2e_mlp_feedback"), tmp.resolve("case"));
    }

    private MergeSettings settings(Path c, String method, Map<String, Object> extra) {
        Map<String, Object> m = new HashMap<>();
        m.put("iteris.merge.method", method);
        m.put("iteris.merge.base", c.resolve("base_model.safetensors").toString());
        m.put("iteris.merge.calibration", c.resolve("calibration.safetensors").toString());
        m.put("iteris.merge.out", tmp.resolve("out").toString());
        m.put("iteris.merge.adapters", List.of(
                Map.of("name", "task0", "path", c.resolve("adapters/task0").toString()),
                Map.of("name", "task1", "path", c.resolve("adapters/task1").toString())));
        m.putAll(extra);
        return MergeSettings.from(ConfigFactory.parseMap(m));
    }

    @Test
    void writesALoadablePeftAdapterThatReproducesTheMergedDeltas() throws IOException {
        Path c = caseDir();
        Merger.Result r = Merger.run(settings(c, "iteris", Map.of("iteris.methods.iteris.iterations", 3)), null);
        Path out = tmp.resolve("out");
        assertEquals(List.of("adapter_config.json", "adapter_model.safetensors", "merge-report.json", "report.html"), TestFiles.list(out));
        PeftAdapter merged = PeftAdapter.load(out);
        for (String layer : r.inputs().layers()) {
            // rank = sum of the input ranks (4 + 6), which is exact for a merge of deltas; F32 storage bounds the error
            assertEquals(10, merged.module(layer).rank());
            double err = Matrices.relativeError(merged.module(layer).delta(), r.outcome().deltas().get(layer));
            assertTrue(err < 1e-6, layer + ": " + err);
            assertEquals(1.0, r.energyKept().get(layer), 1e-12);
        }
        JsonNode report = new ObjectMapper().readTree(out.resolve("merge-report.json").toFile());
        assertEquals("iteris", report.get("method").asText());
        assertEquals(3, report.get("iterations").size());
        assertEquals(2, report.get("layers").get("layers.0.proj").get("omega").size());
        assertTrue(report.get("iterations").get(2).get("max_relative_change").asDouble() > 0);
        JsonNode config = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals(10, config.get("r").asInt());
        assertEquals(0, config.get("rank_pattern").size());
        // the page is self-contained: convergence, time, ω and SVD-energy charts are embedded, and every one was drawn
        String page = Files.readString(out.resolve("report.html"));
        assertEquals(4, page.split("src=\"data:image/png;base64,").length - 1, "embedded charts");
        assertFalse(page.contains("chart not drawn"), "a chart failed");
        assertTrue(page.contains("<td>" + r.inputs().adapters().get(0).name() + "</td>"), "the adapters table");
    }

    @Test
    void aLowerRankKeepsLessEnergyAndRecordsUnequalRanksAsPatterns() throws IOException {
        Path c = caseDir();
        Merger.Result r = Merger.run(settings(c, "iteris", Map.of("iteris.merge.rank", 3)), null);
        for (double e : r.energyKept().values()) {
            assertTrue(e < 1 && e > 0.3, "energy " + e);
        }
        PeftAdapter merged = PeftAdapter.load(tmp.resolve("out"));
        assertEquals(3, merged.module("layers.2.proj").rank());
    }

    @Test
    void denseOutputHoldsTheDeltasThemselves() {
        Path c = caseDir();
        Merger.Result r = Merger.run(settings(c, "ties", Map.of("iteris.merge.output-format", "dense")), null);
        SafetensorsFile f = SafetensorsFile.open(tmp.resolve("out").resolve(DenseExporter.FILE_NAME));
        INDArrayCheck.close(f.readDoubles("layers.1.proj.weight"), Matrices.toArray(r.outcome().deltas().get("layers.1.proj")), 1e-6);
    }

    @Test
    void refusesAnExistingOutputUnlessOverwriting() throws IOException {
        Path c = caseDir();
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve("keep.txt"), "earlier merge");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Merger.run(settings(c, "average", Map.of()), null));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals("earlier merge", Files.readString(out.resolve("keep.txt")));
        Merger.run(settings(c, "average", Map.of("iteris.merge.overwrite", true)), null);
        assertFalse(Files.exists(out.resolve("keep.txt")));
        assertTrue(Files.exists(out.resolve("adapter_model.safetensors")));
        assertEquals(List.of("case", "out"), TestFiles.list(tmp), "no staging directories left behind");
    }

    @Test
    void emptyCalibrationIsRejectedAndNothingIsWritten() {
        Path c = caseDir();
        rewriteCalibration(c, "task1.input", new long[]{0, 8, 32}, new double[0]);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Merger.run(settings(c, "iteris", Map.of()), null));
        assertTrue(e.getMessage().contains("task1.input") && e.getMessage().contains("empty"), e.getMessage());
        assertEquals(List.of("case"), TestFiles.list(tmp));
    }

    @Test
    void calibrationOfTheWrongWidthIsRejected() {
        Path c = caseDir();
        rewriteCalibration(c, "task0.input", new long[]{2, 2, 5}, new double[20]);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Merger.run(settings(c, "regmean", Map.of()), null));
        assertTrue(e.getMessage().contains("task0.input") && e.getMessage().contains("5 features per token but the model takes 32"), e.getMessage());
    }

    @Test
    void nonFiniteFeaturesAreRejected() {
        Path c = caseDir();
        double[] v = new double[2 * 8 * 32];
        v[17] = Double.NaN;
        rewriteCalibration(c, "task0.input", new long[]{2, 8, 32}, v);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Merger.run(settings(c, "iteris", Map.of()), null));
        assertTrue(e.getMessage().contains("task0.input") && e.getMessage().contains("NaN"), e.getMessage());
    }

    @Test
    void adaptersTargetingDifferentModulesAreRejectedNamingThem() {
        Path c = caseDir();
        Path a1 = c.resolve("adapters/task1/adapter_model.safetensors");
        TestFiles.tensorsOf(a1, (n, v) -> n.contains("layers.2.") ? null : v).write(a1);
        AdapterException e = assertThrows(AdapterException.class, () -> Merger.run(settings(c, "ties", Map.of()), null));
        assertTrue(e.getMessage().contains("'task1'") && e.getMessage().contains("lacks [layers.2.proj]"), e.getMessage());
    }

    @Test
    void aLoraForAnotherBaseModelIsRejected() throws IOException {
        Path c = caseDir();
        Path base = c.resolve("base_model.safetensors");
        TestFiles.tensorsOf(base, (n, v) -> n.equals("layers.1.proj.weight") ? null : v)
                .add("layers.1.proj.weight", DType.F32, new long[]{40, 50}, new double[2000]).write(base);
        AdapterException e = assertThrows(AdapterException.class, () -> Merger.run(settings(c, "average", Map.of()), null));
        assertTrue(e.getMessage().contains("layers.1.proj") && e.getMessage().contains("40x48") && e.getMessage().contains("40x50"),
                e.getMessage());
    }

    @Test
    void aBaseWeightHoldingNanIsRefusedByName() {
        Path c = caseDir();
        Path base = c.resolve("base_model.safetensors");
        TestFiles.tensorsOf(base, (n, v) -> {
            if (n.equals("layers.1.proj.weight")) {
                v[7] = Double.NaN;
            }
            return v;
        }).write(base);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Merger.run(settings(c, "average", Map.of()), null));
        assertTrue(e.getMessage().contains("base_model.safetensors") && e.getMessage().contains("layers.1.proj.weight")
                && e.getMessage().contains("NaN at index 7"), e.getMessage());
        assertEquals(List.of("case"), TestFiles.list(tmp), "nothing written");
    }

    @Test
    void aNearlySingularSystemIsAnErrorNamingTheLayerAndTheSettingThatFixesIt() {
        Path c = caseDir();
        // one sample of 8 tokens per task: 16 calibration rows for layers with 32 inputs
        java.util.Random rng = new java.util.Random(3);
        for (String task : List.of("task0.input", "task1.input")) {
            double[] v = new double[8 * 32];
            for (int i = 0; i < v.length; i++) {
                v[i] = rng.nextGaussian();
            }
            rewriteCalibration(c, task, new long[]{1, 8, 32}, v);
        }
        IllegalArgumentException regmean = assertThrows(IllegalArgumentException.class,
                () -> Merger.run(settings(c, "regmean", Map.of("iteris.methods.regmean.nondiag_scale", 1.0)), null));
        assertTrue(regmean.getMessage().contains("layer layers.0.proj") && regmean.getMessage().contains("nearly singular")
                && regmean.getMessage().contains("iteris.methods.regmean.nondiag_scale"), regmean.getMessage());
        IllegalArgumentException iteris = assertThrows(IllegalArgumentException.class,
                () -> Merger.run(settings(c, "iteris", Map.of("iteris.methods.iteris.alpha_2", 0.0)), null));
        assertTrue(iteris.getMessage().contains("layer layers.0.proj") && iteris.getMessage().contains("iteris.methods.iteris.alpha_2"),
                iteris.getMessage());
        assertEquals(List.of("case"), TestFiles.list(tmp), "nothing written");
        Merger.run(settings(c, "regmean", Map.of("iteris.methods.regmean.nondiag_scale", 0.9)), null);
    }

    @Test
    void eachLoadHoldsWhatItsCallerNeedsAndAMissingModelIsRefusedByName() {
        MergeSettings s = settings(caseDir(), "iteris", Map.of());
        Merger.LoadedJob forSolvers = Merger.loadMergeInputs(s);
        assertTrue(forSolvers.model().isEmpty() && forSolvers.samples().isEmpty(), "a solver's job: weights and adapters only");
        IllegalStateException e = assertThrows(IllegalStateException.class, forSolvers::runner);
        assertTrue(e.getMessage().contains("'iteris'") && e.getMessage().contains("without it"), e.getMessage());
        Merger.LoadedJob forClient = Merger.loadForSubmission(s, false);
        assertTrue(forClient.model().isEmpty(), "a client starts no model");
        assertEquals(2, forClient.samples().size(), "but reads each task's calibration");
        Merger.LoadedJob local = Merger.withData(forSolvers);
        assertTrue(local.model().isPresent());
        assertEquals(2, local.samples().size());
        Merger.LoadedJob dataFree = Merger.withData(Merger.loadMergeInputs(settings(caseDir2(), "task_arithmetic", Map.of())));
        assertTrue(dataFree.model().isEmpty() && dataFree.samples().isEmpty(), "a method that runs no model starts none");
        e = assertThrows(IllegalStateException.class, dataFree::runner);
        assertTrue(e.getMessage().contains("runs none"), e.getMessage());
        assertThrows(NullPointerException.class, () -> new Merger.LoadedJob(s, forSolvers.method(), forSolvers.inputs(), null, List.of()));
    }

    private Path caseDir2() {
        return TestFiles.copyTree(TestVectors.of("e2e_mlp_feedback"), tmp.resolve("case2"));
    }

    @Test
    void missingSettingsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Merger.run(MergeSettings.from(ConfigFactory.parseMap(Map.of("iteris.merge.out", tmp.resolve("o").toString()))), null));
        assertTrue(e.getMessage().contains("no base model"), e.getMessage());
        Path c = caseDir();
        MergeSettings s = settings(c, "iteris", Map.of());
        MergeSettings without = new MergeSettings(s.method(), s.base(), s.adapters(), null, s.model(), s.out(), false,
                s.outputFormat(), 0, "float64", 0, s.root());
        e = assertThrows(IllegalArgumentException.class, () -> Merger.run(without, null));
        assertTrue(e.getMessage().contains("calibration"), e.getMessage());
    }

    private static void rewriteCalibration(Path c, String key, long[] shape, double[] values) {
        Path file = c.resolve("calibration.safetensors");
        SafetensorsFile f = SafetensorsFile.open(file);
        SafetensorsWriter w = new SafetensorsWriter();
        List<String> names = new ArrayList<>(f.names());
        for (String n : names) {
            if (n.equals(key)) {
                w.add(n, DType.F32, shape, values);
            } else {
                w.add(n, DType.F32, f.info(n).shape(), f.readDoubles(n));
            }
        }
        w.write(file);
    }

    static final class INDArrayCheck {
        static void close(double[] got, double[] want, double rel) {
            assertEquals(want.length, got.length);
            double[] diff = new double[got.length];
            for (int i = 0; i < got.length; i++) {
                diff[i] = got[i] - want[i];
            }
            assertTrue(Matrices.frobenius(diff) <= rel * Matrices.frobenius(want));
        }
    }
}
