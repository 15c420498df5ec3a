package io.iteris.deploy;

import io.iteris.core.peft.PeftAdapter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line as a user types it, on the example that ships in the repository. */
class CommandLineTest {
    static final Path EXAMPLE = Path.of("..", "examples", "demo").toAbsolutePath().normalize();
    static final Path FASHION = Path.of("..", "examples", "fashion").toAbsolutePath().normalize();
    static final Path VECTORS = Path.of("..", "core", "src", "test", "resources", "vectors").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    private Run run(String... args) {
        StringWriter err = new StringWriter();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            CommandLine cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            int code = cl.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    private String[] adapterFlags() {
        return new String[]{"--adapter", "shift=" + EXAMPLE.resolve("adapters/shift"),
                "--adapter", "swirl=" + EXAMPLE.resolve("adapters/swirl") + "@0.5",
                "--adapter", "spread=" + EXAMPLE.resolve("adapters/spread")};
    }

    /**
     * A decoder LLM exported with external data, from plain text to a merged adapter as a user would go: `calibrate`
     * with its tokenizer.json, then `merge` on both engines (and `--calibration-text` doing both in one step), the
     * adapters bit-identical; and `--device cuda` on this CPU build refused with the reason.
     */
    @Test
    void anExternalDataLlmMergesFromPlainTextOnBothEngines() throws IOException {
        io.iteris.core.demo.TinyLlama.Example ex = io.iteris.core.demo.TinyLlama.writeExample(tmp.resolve("llm"),
                new io.iteris.core.demo.TinyLlama.Shape(64, 16, 32, 2, 32, io.iteris.core.safetensors.DType.F32, true),
                java.util.List.of(2, 4, 6), java.util.List.of("q_proj", "v_proj"), 16, 7);
        java.util.List<String> common = new java.util.ArrayList<>(java.util.List.of("merge", "--base", ex.model().toString(), "--iterations", "2"));
        java.util.List<String> texts = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            common.addAll(java.util.List.of("--adapter", ex.tasks().get(i) + "=" + ex.adapters().get(i)));
            texts.addAll(java.util.List.of("--task", ex.tasks().get(i) + "=" + ex.texts().get(i)));
        }
        java.util.List<String> calibrate = new java.util.ArrayList<>(java.util.List.of("calibrate", "--tokenizer", ex.tokenizer().toString(),
                "--max-tokens", "10", "--out", tmp.resolve("llm/cal.safetensors").toString()));
        calibrate.addAll(texts);
        Run c = run(calibrate.toArray(new String[0]));
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("3 tasks"), c.out());

        java.util.List<String> local = new java.util.ArrayList<>(common);
        local.addAll(java.util.List.of("--calibration", tmp.resolve("llm/cal.safetensors").toString(), "--engine", "local",
                "--out", tmp.resolve("llm/local").toString()));
        Run l = run(local.toArray(new String[0]));
        assertEquals(0, l.code(), l.err());
        java.util.List<String> actors = new java.util.ArrayList<>(common);
        actors.addAll(java.util.List.of("--calibration-text", texts.get(1), "--calibration-text", texts.get(3), "--calibration-text", texts.get(5),
                "--max-tokens", "10", "--out", tmp.resolve("llm/actors").toString()));
        Run a = run(actors.toArray(new String[0]));
        assertEquals(0, a.code(), a.err());
        assertEquals(4, PeftAdapter.load(tmp.resolve("llm/actors")).modules().size(), "q_proj and v_proj of two layers");
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(tmp.resolve("llm/local/adapter_model.safetensors")),
                Files.readAllBytes(tmp.resolve("llm/actors/adapter_model.safetensors"))), "the same adapter from both engines");

        // the Gram statistics in the ONNX Runtime session (what GPU workers do by default): both engines bit-identical
        // again, and the adapter the host's statistics gave to float32 rounding
        java.util.List<String> sessionLocal = new java.util.ArrayList<>(local);
        sessionLocal.set(sessionLocal.indexOf(tmp.resolve("llm/local").toString()), tmp.resolve("llm/session-local").toString());
        sessionLocal.addAll(java.util.List.of("--gram", "device"));
        java.util.List<String> sessionActors = new java.util.ArrayList<>(sessionLocal);
        sessionActors.set(sessionActors.indexOf("local"), "cluster");
        sessionActors.set(sessionActors.indexOf(tmp.resolve("llm/session-local").toString()), tmp.resolve("llm/session-actors").toString());
        for (java.util.List<String> args : java.util.List.of(sessionLocal, sessionActors)) {
            Run r = run(args.toArray(new String[0]));
            assertEquals(0, r.code(), r.err());
        }
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(tmp.resolve("llm/session-local/adapter_model.safetensors")),
                Files.readAllBytes(tmp.resolve("llm/session-actors/adapter_model.safetensors"))), "the same adapter from both engines");
        var host = PeftAdapter.load(tmp.resolve("llm/local")).modules();
        var session = PeftAdapter.load(tmp.resolve("llm/session-local")).modules();
        for (String m : host.keySet()) {
            double err = io.iteris.core.linalg.Matrices.relativeError(host.get(m).delta(), session.get(m).delta());
            assertTrue(err < 1e-5, m + ": the Gram in the session against the host's, relative " + err);
        }

        java.util.List<String> gpu = new java.util.ArrayList<>(local);
        gpu.set(gpu.indexOf(tmp.resolve("llm/local").toString()), tmp.resolve("llm/gpu").toString());
        gpu.addAll(java.util.List.of("--device", "cuda:0"));
        Run g = run(gpu.toArray(new String[0]));
        assertTrue(g.code() != 0 && g.err().contains("no CUDA execution provider") && g.err().contains("-Pgpu"), g.err());
        assertFalse(Files.exists(tmp.resolve("llm/gpu")));
    }

    @Test
    void mergeWithFlagsWritesAPeftAdapter() {
        Path out = tmp.resolve("merged");
        String[] a = adapterFlags();
        Run r = run("merge", "--base", EXAMPLE.resolve("base").toString(), a[0], a[1], a[2], a[3], a[4], a[5],
                "--calibration", EXAMPLE.resolve("calibration.safetensors").toString(), "--method", "iteris",
                "--iterations", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("wrote " + out), r.out());
        assertEquals(3, PeftAdapter.load(out).modules().size());
        assertTrue(Files.exists(out.resolve("merge-report.json")));
    }

    @Test
    void mergeReadsAConfigFileWithPathsRelativeToIt() throws IOException {
        Path conf = EXAMPLE.resolve("merge.conf");
        Path out = tmp.resolve("from-config");
        Run r = run("merge", "--config", conf.toString(), "--out", out.toString(), "--set", "iteris.methods.iteris.iterations=2");
        assertEquals(0, r.code(), r.err());
        String report = Files.readString(out.resolve("merge-report.json"));
        assertTrue(report.contains("\"iterations\" : 2"), report);
    }

    @Test
    void unknownMethodIsOneClearError() {
        String[] a = adapterFlags();
        Run r = run("merge", "--base", EXAMPLE.resolve("base").toString(), a[0], a[1], "--method", "tie",
                "--out", tmp.resolve("x").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown merge method 'tie'"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace for a user error");
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void malformedAdapterFlagIsNamed() {
        Run r = run("merge", "--base", EXAMPLE.resolve("base").toString(), "--adapter", "just-a-path", "--out", tmp.resolve("x").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--adapter wants NAME=DIR"), r.err());
    }

    @Test
    void vectorsCommandChecksACase() throws IOException {
        Path cases = Files.createDirectories(tmp.resolve("cases"));
        Files.createSymbolicLink(cases.resolve("layer_n2_64x48_default"), VECTORS.resolve("layer_n2_64x48_default"));
        Run r = run("vectors", cases.toString(), "--out", tmp.resolve("v").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("layer_n2_64x48_default") && r.out().contains(" ok"), r.out());
        assertTrue(Files.exists(tmp.resolve("v/layer_n2_64x48_default/result.safetensors")));
    }

    @Test
    void mergeSubmitsToARunningClusterAndEventsReadsItsJournal() throws IOException {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String journal = "jdbc:h2:file:" + tmp.resolve("cluster/journal") + ";DB_CLOSE_DELAY=-1";
        Path store = tmp.resolve("cluster/store");
        try (io.iteris.actors.node.IterisNode seed = io.iteris.actors.node.IterisNode.start(com.typesafe.config.ConfigFactory.parseMap(
                java.util.Map.of("pekko.remote.artery.canonical.port", port,
                        "pekko.cluster.seed-nodes", java.util.List.of("pekko://iteris@127.0.0.1:" + port),
                        "iteris.engine.journal", journal, "iteris.engine.store-dir", store.toString(),
                        "iteris.engine.work-dir", tmp.resolve("cluster").toString())))) {
            seed.awaitUp(java.time.Duration.ofSeconds(30));
            Path out = tmp.resolve("merged");
            String[] a = adapterFlags();
            Run r = run("merge", "--base", EXAMPLE.resolve("base").toString(), a[0], a[1], a[2], a[3],
                    "--calibration", EXAMPLE.resolve("calibration.safetensors").toString(), "--iterations", "2",
                    "--out", out.toString(), "--cluster", "127.0.0.1:" + port, "--journal", journal, "--store", store.toString(),
                    "--job-id", "cli-cluster-job");
            assertEquals(0, r.code(), r.err());
            assertEquals(3, PeftAdapter.load(out).modules().size());
            Run events = run("events", "cli-cluster-job", "--cluster", "127.0.0.1:" + port, "--journal", journal);
            assertEquals(0, events.code(), events.err());
            assertTrue(events.out().contains("JobAccepted") && events.out().contains("iteration 2 completed")
                    && events.out().contains("JobCompleted"), events.out());
        }
    }

    @Test
    void demoMergesTheShippedRealTaskLorasOnTheActorEngine() {
        Run r = run("demo", "--example", FASHION.toString(), "--out", tmp.resolve("demo").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("actor engine") && r.out().contains("IterIS merge") && r.out().contains("RegMean merge")
                && r.out().contains("each task's own LoRA"), r.out());
        assertEquals(3, PeftAdapter.load(tmp.resolve("demo/iteris")).modules().size());
        assertTrue(Files.exists(tmp.resolve("demo/demo-report.md")));
    }

    @Test
    void quickQualityBenchmarkWritesEveryOutputAndMergingBeatsTheBase() throws IOException {
        Path out = tmp.resolve("bench");
        Run bad = run("bench", "quality", "--quick", "--ridge-ratios", "1,0", "--example", FASHION.toString(), "--out", out.toString());
        assertTrue(bad.code() != 0 && bad.err().contains("--ridge-ratios: each ratio α1/α2 must be positive, got 0.0"), bad.err());
        Run r = run("bench", "quality", "--quick", "--ridge-ratios", "1,2", "--example", FASHION.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        // the chosen IterIS ridges are one of the grid's: α1 = α2 or α1 = 2·α2
        String tuned = Files.readAllLines(out.resolve("report.md")).stream().filter(l -> l.startsWith("| iteris ")).findFirst().orElseThrow();
        assertTrue(tuned.contains("alpha_1=1.0E-4") || tuned.contains("alpha_1=2.0E-4"), tuned);
        for (String f : java.util.List.of("quality.csv", "report.md", "iterations.png", "calibration.png")) {
            assertTrue(Files.size(out.resolve(f)) > 100, f);
        }
        java.util.List<String> csv = Files.readAllLines(out.resolve("quality.csv"));
        assertEquals("suite,tasks_merged,method,task,accuracy,normalised_accuracy,draw", csv.get(0));
        java.util.Map<String, Double> mean = new java.util.HashMap<>();
        java.util.Map<String, Integer> count = new java.util.HashMap<>();
        java.util.Set<String> redrawn = new java.util.HashSet<>();
        for (String line : csv.subList(1, csv.size())) {
            String[] f = line.split(",");
            assertEquals(7, f.length, line);
            double acc = Double.parseDouble(f[4]);
            assertTrue(acc >= 0 && acc <= 1, line);
            if (f[0].equals("all") && f[6].equals("0")) {
                mean.merge(f[2], acc, Double::sum);
                count.merge(f[2], 1, Integer::sum);
            } else if (f[0].equals("all")) {
                redrawn.add(f[2]);
            }
        }
        for (String m : java.util.List.of("base", "individual", "iteris", "iteris_label_free", "iteris_refined", "iteris_refined_label_free", "regmean", "regmean_pp", "tsv", "iso_cts",
                "knots", "wudi", "core_space", "ties", "dare", "task_arithmetic", "average")) {
            assertEquals(5, count.get(m), "five tasks for " + m);
        }
        assertEquals(java.util.Set.of("iteris", "iteris_label_free", "iteris_refined", "iteris_refined_label_free", "regmean", "regmean_pp"), redrawn,
                "the methods that read calibration data are repeated on a second draw, the others are not");
        assertTrue(mean.get("iteris") > mean.get("base"), "merging improves over the base model on average");
        assertTrue(csv.stream().anyMatch(l -> l.startsWith("pairs,2,")) && csv.stream().anyMatch(l -> l.startsWith("iterations-")));
    }

    static final Path TEXT = Path.of("..", "examples", "text").toAbsolutePath().normalize();

    @Test
    void mergesTheShippedTextLorasOnTheOnnxModelFromTheirConfig() {
        Path out = tmp.resolve("merged-text");
        Run r = run("merge", "--config", TEXT.resolve("merge.conf").toString(), "--engine", "local", "--iterations", "1",
                "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        PeftAdapter merged = PeftAdapter.load(out);
        assertEquals(12, merged.modules().size(), "query and value of six layers");
        assertTrue(merged.modules().containsKey("encoder.layer.5.attention.self.value"));
    }

    @Test
    void quickTextBenchmarkMergesEveryTaskWithIterisAndTheRivalsThatReadTheModel() throws IOException {
        Path out = tmp.resolve("bench-text");
        // One calibration draw, and the rivals whose inputs come from the ONNX model's statistics (RegMean, RegMean++) with one
        // weight-only rival of each kind (task arithmetic, KnOTS's SVD): every rival merges the LoRAs' ΔW alike whatever the
        // model, and the image suite's quick test runs them all. With every rival and two draws this took 4 of CI's 30 minutes.
        Run r = run("bench", "quality", "--suite", "text", "--quick", "--draws", "1", "--calibration", "16", "--example", TEXT.toString(),
                "--methods", "regmean,regmean_pp,knots,task_arithmetic", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        java.util.List<String> csv = Files.readAllLines(out.resolve("quality.csv"));
        java.util.Map<String, Double> mean = new java.util.HashMap<>();
        java.util.Map<String, Integer> count = new java.util.HashMap<>();
        for (String line : csv.subList(1, csv.size())) {
            String[] f = line.split(",");
            double acc = Double.parseDouble(f[4]);
            assertTrue(acc >= 0 && acc <= 1, line);
            if (f[0].equals("all") && f[6].equals("0")) {
                mean.merge(f[2], acc / 8, Double::sum);
                count.merge(f[2], 1, Integer::sum);
            }
        }
        for (String m : java.util.List.of("base", "individual", "iteris", "iteris_label_free", "regmean", "regmean_pp", "knots",
                "task_arithmetic")) {
            assertEquals(8, count.get(m), "eight text tasks for " + m);
        }
        // the feature refinement needs the model's gradients, which an ONNX model run for inference does not give
        assertTrue(!count.containsKey("iteris_refined") && !count.containsKey("iteris_refined_label_free"), count.keySet().toString());
        // The heads are fixed random projections: the base with them is near chance, the skill is in the LoRAs.
        assertTrue(mean.get("individual") > mean.get("base") + 0.2, "the trained LoRAs beat the frozen base with the same heads: " + mean);
        assertTrue(mean.get("iteris") > mean.get("base"), "the IterIS merge keeps more than the base: " + mean);
        assertTrue(Files.readString(out.resolve("report.md")).contains("all-MiniLM-L6-v2"));
    }
}
