package io.iteris.core.peft;

import io.iteris.core.TestFiles;
import io.iteris.core.TestVectors;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsFile;
import io.iteris.core.safetensors.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeftAdapterTest {
    @TempDir
    Path dir;

    private Path copy() {
        return TestFiles.copyTree(TestVectors.of("e2e_mlp_feedback/adapters/task1"), dir.resolve("a"));
    }

    @Test
    void loadsModulesInNaturalOrderWithTheirScale() {
        PeftAdapter a = PeftAdapter.load(TestVectors.of("e2e_mlp_feedback/adapters/task1"));
        assertEquals(List.of("layers.0.proj", "layers.1.proj", "layers.2.proj"), List.copyOf(a.modules().keySet()));
        LoraModule m = a.module("layers.1.proj");
        assertEquals(6, m.rank());
        assertEquals(48, m.inFeatures());
        assertEquals(40, m.outFeatures());
        assertEquals(a.config().loraAlpha() / 6, m.scale(), 0);
    }

    @Test
    void rankAndAlphaPatternsAndRsLoraDecideTheScale() throws IOException {
        Path a = copy();
        Files.writeString(a.resolve(LoraConfig.FILE_NAME), "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":16,\"use_rslora\":true,"
                + "\"target_modules\":[\"proj\"],\"rank_pattern\":{\"layers.0.proj\":6,\"layers.1.proj\":6,\"layers.2.proj\":6},"
                + "\"alpha_pattern\":{\"layers.2.proj\":9}}");
        PeftAdapter p = PeftAdapter.load(a);
        assertEquals(16 / Math.sqrt(6), p.module("layers.0.proj").scale(), 1e-15);
        assertEquals(9 / Math.sqrt(6), p.module("layers.2.proj").scale(), 1e-15);
        LoraModule m = p.module("layers.2.proj");
        assertEquals(0, Matrices.relativeError(m.delta(), m.b().mmul(m.a()).mul(9 / Math.sqrt(6))), 1e-15);
    }

    @Test
    void patternsMatchAtDotBoundariesOnly() {
        assertEquals("q_proj", LoraConfig.patternKey(java.util.Set.of("q_proj"), "model.layers.0.self_attn.q_proj"));
        assertEquals(null, LoraConfig.patternKey(java.util.Set.of("q_proj"), "model.layers.0.self_attn.xq_proj"));
    }

    @Test
    void configRankDisagreeingWithTensorsIsAnError() throws IOException {
        Path a = copy();
        Files.writeString(a.resolve(LoraConfig.FILE_NAME), "{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[\"proj\"]}");
        AdapterException e = assertThrows(AdapterException.class, () -> PeftAdapter.load(a));
        assertTrue(e.getMessage().contains("says r = 8 but the tensors have rank 6"), e.getMessage());
        assertTrue(e.getMessage().contains("layers.0.proj"), e.getMessage());
    }

    @Test
    void nanInAnAdapterIsAnErrorNamingTheTensor() {
        Path a = copy();
        rewrite(a, "base_model.model.layers.1.proj.lora_B.weight", Double.NaN);
        AdapterException e = assertThrows(AdapterException.class, () -> PeftAdapter.load(a));
        assertTrue(e.getMessage().contains("layers.1.proj.lora_B.weight") && e.getMessage().contains("NaN"), e.getMessage());
    }

    @Test
    void infinityInAnAdapterIsAnError() {
        Path a = copy();
        rewrite(a, "base_model.model.layers.0.proj.lora_A.weight", Double.POSITIVE_INFINITY);
        AdapterException e = assertThrows(AdapterException.class, () -> PeftAdapter.load(a));
        assertTrue(e.getMessage().contains("Infinity"), e.getMessage());
    }

    @Test
    void missingConfigAndNonLoraTypesAreErrors() throws IOException {
        Path a = copy();
        Files.delete(a.resolve(LoraConfig.FILE_NAME));
        assertTrue(assertThrows(AdapterException.class, () -> PeftAdapter.load(a)).getMessage().contains("adapter_config.json"));
        Files.writeString(a.resolve(LoraConfig.FILE_NAME), "{\"peft_type\":\"IA3\",\"r\":6}");
        assertTrue(assertThrows(AdapterException.class, () -> PeftAdapter.load(a)).getMessage().contains("only LORA"));
    }

    @Test
    void unmergeableTensorsAreNamed() {
        Path a = copy();
        Path file = a.resolve(PeftAdapter.WEIGHTS_FILE);
        TestFiles.tensorsOf(file, (n, v) -> v).add("base_model.model.head.modules_to_save.weight", DType.F32, new long[]{2}, new double[]{1, 2})
                .write(file);
        AdapterException e = assertThrows(AdapterException.class, () -> PeftAdapter.load(a));
        assertTrue(e.getMessage().contains("head.modules_to_save.weight"), e.getMessage());
    }

    @Test
    void aFactorGivenTwiceUnderDifferentAdapterNamesIsRefused() {
        Path a = copy();
        Path file = a.resolve(PeftAdapter.WEIGHTS_FILE);
        SafetensorsFile f = SafetensorsFile.open(file);
        String a0 = "base_model.model.layers.0.proj.lora_A.weight";
        TestFiles.tensorsOf(file, (n, v) -> v).add("base_model.model.layers.0.proj.lora_A.default.weight", DType.F32, f.info(a0).shape(),
                f.readDoubles(a0)).write(file);
        AdapterException e = assertThrows(AdapterException.class, () -> PeftAdapter.load(a));
        assertTrue(e.getMessage().contains("two lora_A tensors") && e.getMessage().contains("lora_A.default.weight"), e.getMessage());
    }

    @Test
    void aConfigGivingAKeyTwiceIsRefused() throws IOException {
        Path a = copy();
        Files.writeString(a.resolve(LoraConfig.FILE_NAME), "{\"peft_type\":\"LORA\",\"r\":6,\"lora_alpha\":12,\"r\":8,\"target_modules\":[\"proj\"]}");
        AdapterException e = assertThrows(AdapterException.class, () -> PeftAdapter.load(a));
        assertTrue(e.getMessage().contains(LoraConfig.FILE_NAME) && e.getMessage().contains("Duplicate field 'r'"), e.getMessage());
    }

    @Test
    void mixedHalfPrecisionDtypesAreReadAndConverted() {
        Path a = copy();
        Path file = a.resolve(PeftAdapter.WEIGHTS_FILE);
        PeftAdapter f32 = PeftAdapter.load(a);
        SafetensorsFile f = SafetensorsFile.open(file);
        SafetensorsWriter w = new SafetensorsWriter();
        for (String n : f.names()) {
            w.add(n, n.contains("lora_A") ? DType.F16 : DType.BF16, f.info(n).shape(), f.readDoubles(n));
        }
        w.write(file);
        PeftAdapter mixed = PeftAdapter.load(a);
        for (String m : f32.modules().keySet()) {
            double err = Matrices.relativeError(mixed.module(m).delta(), f32.module(m).delta());
            assertTrue(err > 0 && err < 1e-2, m + ": " + err);
        }
    }

    /** Rewrites one tensor of the adapter with its first value replaced. */
    static void rewrite(Path adapter, String tensor, double value) {
        Path file = adapter.resolve(PeftAdapter.WEIGHTS_FILE);
        SafetensorsWriter w = TestFiles.tensorsOf(file, (n, v) -> {
            if (n.equals(tensor)) {
                v[3] = value;
            }
            return v;
        });
        w.write(file);
    }
}
