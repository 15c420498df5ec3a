package io.iteris.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iteris.bench.data.ImageTasks;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** deploy/local-cluster.sh starts real TLS node processes that a merge runs on, kills and restarts one, and stops them by their pids. */
class LocalClusterScriptTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    record Result(int code, String out) {
    }

    private Result script(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", ROOT.resolve("deploy/local-cluster.sh").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("local-cluster.sh " + String.join(" ", args) + " did not finish");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes()));
    }

    /** Runs iteris in this JVM as a user would; returns its exit code, standard output and error. */
    private static Result iteris(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out + err.toString());
    }

    private static String[] with(List<String> first, String clientFlags) {
        List<String> all = new java.util.ArrayList<>(first);
        all.addAll(List.of(clientFlags.strip().split("\\s+")));
        return all.toArray(new String[0]);
    }

    /**
     * Three TLS nodes merge the Fashion example while the first seed node is SIGKILLed mid-merge and restarted with
     * `restart`: the adapter is byte-identical to the local engine's, and the nodes form one cluster at the end (the
     * restarted first seed rejoined instead of forming a second one). Then every job's state has left every node.
     */
    @Test
    void aSeedNodeKilledMidMergeIsRestartedIntoTheSameClusterAndTheMergeIsExact() throws Exception {
        Server h2 = Server.createTcpServer("-tcpPort", String.valueOf(freePort()), "-ifNotExists", "-baseDir", tmp.resolve("h2").toString()).start();
        int port0 = consecutiveFreePorts(3);
        String journal = "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/journal";
        Path clusterDir = tmp.resolve("cluster");
        Map<String, String> env = Map.of(
                "ITERIS_CLUSTER_DIR", clusterDir.toString(),
                "ITERIS_CLUSTER_PORT", String.valueOf(port0),
                "ITERIS_CLUSTER_JOURNAL", journal,
                "ITERIS_CLUSTER_HTTP_PORT", "0", // the consoles are ConsoleTest's
                "ITERIS_NODE_CMD", Path.of(System.getProperty("java.home"), "bin", "java") + " -Xss16m -Xmx1g -cp "
                        + System.getProperty("java.class.path") + " io.iteris.deploy.Main");
        Path example = ROOT.resolve("examples/fashion");
        Path calibration = ImageTasks.load(example.resolve("data")).writeCalibration(tmp.resolve("calibration.safetensors"), 32);
        List<String> merge = List.of("merge", "--config", example.resolve("merge.conf").toString(), "--calibration", calibration.toString(),
                "--iterations", "6", "--set", "iteris.merge.shard-size=8");
        try {
            Result started = script(env, "start", "3");
            assertEquals(0, started.code(), started.out());
            assertTrue(started.out().contains("cluster up: 3 nodes") && started.out().contains("mutual TLS"), started.out());
            Result status = script(env, "status");
            assertEquals(3, status.out().lines().filter(l -> l.endsWith(" up")).count(), status.out());
            String clientFlags = Files.readString(clusterDir.resolve("client-flags"));
            assertTrue(clientFlags.contains("--tls") && clientFlags.contains("--cluster 127.0.0.1:" + port0 + ",") , clientFlags);

            Result local = iteris(with(merge, "--engine local --out " + tmp.resolve("local")));
            assertEquals(0, local.code(), local.out());

            Path out = tmp.resolve("merged");
            CompletableFuture<Result> merged = CompletableFuture.supplyAsync(() -> iteris(with(merge, "--out " + out + " " + clientFlags)));
            // every layer of the first iteration solved: its three deltas are in the checkpoint store
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            while (storedDeltas(clusterDir.resolve("store")) < 3 && !merged.isDone()) {
                assertTrue(System.nanoTime() < deadline, "no iteration completed");
                Thread.sleep(100);
            }
            assertFalse(merged.isDone(), "the merge ended before the seed node could be killed: " + (merged.isDone() ? merged.get().out() : ""));
            Result killed = script(env, "kill", String.valueOf(port0));
            assertEquals(0, killed.code(), killed.out());
            Result restarted = script(env, "restart", String.valueOf(port0));
            assertEquals(0, restarted.code(), restarted.out());

            Result r = merged.get(300, TimeUnit.SECONDS);
            assertEquals(0, r.code(), r.out());
            assertArrayEquals(Files.readAllBytes(tmp.resolve("local/adapter_model.safetensors")), Files.readAllBytes(out.resolve("adapter_model.safetensors")),
                    "the cluster's adapter, its seed node killed mid-merge, is byte for byte the local engine's");
            assertTrue(Files.size(out.resolve("report.html")) > 10_000, "the merge's report page with its charts");

            // one cluster: every node sees the same leader and all members; and the finished job left no state behind
            JsonNode nodes = null;
            for (int attempt = 0; attempt < 20; attempt++) {
                Result described = iteris(with(List.of("status", "--nodes", "--json"), clientFlags));
                assertEquals(0, described.code(), described.out());
                nodes = new ObjectMapper().readTree(described.out().substring(described.out().indexOf('['), described.out().lastIndexOf(']') + 1));
                if (nodes.size() == 3 && allQuiet(nodes) && oneLeader(nodes)) {
                    break;
                }
                Thread.sleep(500);
            }
            assertEquals(3, nodes.size(), nodes.toString());
            java.util.Set<String> leaders = new java.util.HashSet<>();
            for (JsonNode n : nodes) {
                leaders.add(n.get("leader").asText());
                assertTrue(n.get("members").asInt() >= 3, n.toString());
            }
            assertEquals(1, leaders.size(), "one leader: " + nodes);
            assertTrue(allQuiet(nodes), "no supervisor, solver or cached job is left on any node: " + nodes);

            // `status` reads the cluster's journal: the job, completed, its iterations and the work per node
            Result listed = iteris(with(List.of("status"), clientFlags));
            assertEquals(0, listed.code(), listed.out());
            List<String> jobs = listed.out().lines().filter(l -> l.contains(" completed ")).toList();
            assertEquals(1, jobs.size(), listed.out());
            String jobId = jobs.get(0).split(" ")[0];
            Result one = iteris(with(List.of("status", jobId), clientFlags));
            assertTrue(one.out().contains("iteration 1 completed") && one.out().contains("work units done per node:")
                    && one.out().contains("output: " + out) && one.out().contains("supervisor resumed"), one.out());
        } finally {
            Result stopped = script(env, "stop");
            assertEquals(0, stopped.code(), stopped.out());
            h2.stop();
        }
        Result after = script(Map.of("ITERIS_CLUSTER_DIR", clusterDir.toString()), "status");
        assertTrue(after.out().contains("no nodes recorded"), after.out());
        try (var pids = Files.list(clusterDir)) {
            assertTrue(pids.noneMatch(p -> p.toString().endsWith(".pid")), "pid files removed");
        }
    }

    private static long storedDeltas(Path store) throws IOException {
        if (!Files.isDirectory(store.resolve("deltas"))) {
            return 0;
        }
        try (var files = Files.walk(store.resolve("deltas"))) {
            return files.filter(f -> f.toString().endsWith(".safetensors")).count();
        }
    }

    private static boolean oneLeader(JsonNode nodes) {
        java.util.Set<String> leaders = new java.util.HashSet<>();
        nodes.forEach(n -> leaders.add(n.get("leader").asText()));
        return leaders.size() == 1;
    }

    private static boolean allQuiet(JsonNode nodes) {
        for (JsonNode n : nodes) {
            if (n.get("supervisors").asInt() != 0 || n.get("solvers").asInt() != 0 || n.get("cached_jobs").size() != 0) {
                return false;
            }
        }
        return true;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The first of {@code n} consecutive ports that are free now. */
    static int consecutiveFreePorts(int n) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = freePort();
            boolean ok = true;
            for (int i = 1; i < n && ok; i++) {
                try (ServerSocket s = new ServerSocket(base + i)) {
                    ok = s.getLocalPort() == base + i;
                } catch (IOException e) {
                    ok = false;
                }
            }
            if (ok && base + n < 65535) {
                return base;
            }
        }
        throw new IOException("no " + n + " consecutive free ports");
    }
}
