package io.iteris.deploy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input at the command line: a clear message naming the culprit, a non-zero exit, nothing half-written. */
class BadInputTest {
    static final Path EXAMPLE = Path.of("..", "examples", "demo").toAbsolutePath().normalize();
    static final Path VECTORS = Path.of("..", "core", "src", "test", "resources", "vectors").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    record Run(int code, String err) {
    }

    private Run run(String... args) {
        StringWriter err = new StringWriter();
        PrintStream old = System.out;
        System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            CommandLine cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            return new Run(cl.execute(args), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    private Run merge(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("merge", "--config", EXAMPLE.resolve("merge.conf").toString(),
                "--out", out.toString(), "--engine", "local"));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    private void assertRejected(Run r, String... mustMention) {
        assertTrue(r.code() != 0, "non-zero exit");
        for (String m : mustMention) {
            assertTrue(r.err().contains(m), "message names '" + m + "': " + r.err());
        }
        assertFalse(r.err().contains("\tat "), "a message, not a stack trace: " + r.err());
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("keep")).toList(), "nothing written");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aTypoInAConfigKeyIsRejectedWithASuggestion() {
        assertRejected(merge(tmp.resolve("o"), "--set", "iteris.methods.iteris.alpha1=1e-5"),
                "unknown setting iteris.methods.iteris.alpha1", "did you mean iteris.methods.iteris.alpha_1");
        assertRejected(merge(tmp.resolve("o"), "--set", "iteris.merge.calibraton=x.safetensors"), "did you mean iteris.merge.calibration");
    }

    @Test
    void nonPositiveRankAlphaIterationsAndCoefficientsAreRejected() {
        assertRejected(merge(tmp.resolve("o"), "--rank", "-1"), "iteris.merge.rank");
        assertRejected(merge(tmp.resolve("o"), "--iterations", "0"), "iteris.methods.iteris.iterations");
        assertRejected(merge(tmp.resolve("o"), "--set", "iteris.methods.iteris.alpha_2=-1"), "alpha_1 and alpha_2 must be non-negative");
        assertRejected(merge(tmp.resolve("o"), "--adapter", "x=" + EXAMPLE.resolve("adapters/shift") + "@-2"), "manual_coef");
        assertRejected(merge(tmp.resolve("o"), "--method", "ties", "--set", "iteris.methods.ties.density=0"), "ties density");
    }

    @Test
    void anUnknownMethodIsNamedWithTheKnownOnes() {
        assertRejected(merge(tmp.resolve("o"), "--method", "fisher"), "unknown merge method 'fisher'", "regmean");
    }

    @Test
    void anExistingOutputIsLeftAloneWithoutOverwrite() throws IOException {
        Path keep = Files.createDirectories(tmp.resolve("keep"));
        Files.writeString(keep.resolve("adapter_model.safetensors"), "an earlier merge");
        assertRejected(merge(keep), "already exists", "--overwrite");
        assertEquals("an earlier merge", Files.readString(keep.resolve("adapter_model.safetensors")));
    }

    @Test
    void adaptersOfAnotherBaseModelAreRejected() {
        Path other = VECTORS.resolve("e2e_mlp_feedback/base_model.safetensors");
        assertRejected(merge(tmp.resolve("o"), "--base", other.toString(), "--model", VECTORS.resolve("e2e_mlp_feedback/e2e.json").toString()),
                "layers.0.proj", "another base model");
    }

    @Test
    void calibrationOfTheWrongWidthIsRejected() {
        assertRejected(merge(tmp.resolve("o"), "--calibration", VECTORS.resolve("e2e_mlp_feedback/calibration.safetensors").toString()),
                "features per token but the model takes");
    }

    @Test
    void aCorruptedAdapterFileIsNamed() throws IOException {
        Path bad = io.iteris.core.TestFiles.copyTree(EXAMPLE.resolve("adapters/spread"), tmp.resolve("bad-adapter"));
        Path weights = bad.resolve("adapter_model.safetensors");
        byte[] b = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(b, b.length / 2));
        Run r = merge(tmp.resolve("o"), "--adapter", "shift=" + EXAMPLE.resolve("adapters/shift"), "--adapter", "bad=" + bad);
        assertTrue(r.code() != 0 && r.err().contains("adapter_model.safetensors"), r.err());
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    @Test
    void anOnnxModelWhoseExternalDataLiesBeyondItsFileIsNamedBeforeTheTextsAreTokenized(@TempDir Path inputs) throws Exception {
        io.iteris.core.demo.TinyLlama.Example ex = io.iteris.core.demo.TinyLlama.writeExample(inputs.resolve("ex"),
                new io.iteris.core.demo.TinyLlama.Shape(16, 8, 8, 1, 8, io.iteris.core.safetensors.DType.F32, false), List.of(2, 2),
                List.of("q_proj"), 8, 5);
        Path model = io.iteris.core.demo.ExternalDataLayout.write(io.iteris.core.model.onnx.OnnxModelFile.open(ex.model()),
                inputs.resolve("all-external"), io.iteris.core.demo.ExternalDataLayout.Layout.ALL_EXTERNAL);
        // the RMSNorm gain, which only ONNX Runtime reads, placed past the end of the data file
        onnx.Onnx.ModelProto proto = onnx.Onnx.ModelProto.parseFrom(Files.readAllBytes(model));
        onnx.Onnx.GraphProto.Builder g = proto.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            onnx.Onnx.TensorProto t = g.getInitializer(i);
            if (t.getName().equals("model.norm.weight")) {
                onnx.Onnx.TensorProto.Builder b = t.toBuilder().clearExternalData();
                t.getExternalDataList().forEach(kv -> b.addExternalData(kv.getKey().equals("offset") ? kv.toBuilder().setValue("99999999").build() : kv));
                g.setInitializer(i, b);
            }
        }
        Files.write(model, proto.toBuilder().setGraph(g).build().toByteArray());
        Run r = run("merge", "--base", model.toString(), "--adapter", "task0=" + ex.adapters().get(0), "--adapter", "task1=" + ex.adapters().get(1),
                "--calibration-text", "task0=" + ex.texts().get(0), "--calibration-text", "task1=" + ex.texts().get(1),
                "--out", tmp.resolve("o").toString(), "--engine", "local");
        assertRejected(r, "model.onnx", "model.norm.weight", "model.onnx_data", "which has only");
    }

    @Test
    void anUnreachableJournalIsAClearErrorNotAHang() throws IOException {
        long t0 = System.nanoTime();
        Run r = run("merge", "--config", EXAMPLE.resolve("merge.conf").toString(), "--out", tmp.resolve("o").toString(),
                "--journal", "jdbc:postgresql://127.0.0.1:" + freePort() + "/iteris", "--work-dir", tmp.resolve("work").toString());
        assertTrue(r.code() != 0 && r.err().contains("cannot be reached"), r.err());
        assertTrue((System.nanoTime() - t0) / 1e9 < 60, "gave up in bounded time");
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    @Test
    void aNodeWhoseSeedIsNotThereGivesUp() throws IOException {
        Run r = run("node", "--seed", "127.0.0.1:" + freePort(), "--port", String.valueOf(freePort()), "--join-timeout", "3",
                "--work-dir", tmp.resolve("work").toString());
        assertTrue(r.code() != 0 && r.err().contains("no seed node let this node join within 3 s"), r.err());
    }

    @Test
    void aNodeAskedForAGpuThisBuildCannotUseFailsAtStartWithTheReason() throws IOException {
        Run r = run("node", "--seed", "127.0.0.1:" + freePort(), "--port", String.valueOf(freePort()), "--device", "cuda:1",
                "--work-dir", tmp.resolve("work").toString());
        assertTrue(r.code() != 0 && r.err().contains("device cuda:1") && r.err().contains("no CUDA execution provider"), r.err());
        Run bad = run("node", "--seed", "127.0.0.1:1", "--device", "tpu");
        assertTrue(bad.code() != 0 && bad.err().contains("cpu, cuda or cuda:N"), bad.err());
    }

    @Test
    void anUnknownRoleIsNamed() {
        Run r = run("node", "--seed", "127.0.0.1:1", "--roles", "worker,sovler");
        assertTrue(r.code() != 0 && r.err().contains("unknown role 'sovler'"), r.err());
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
