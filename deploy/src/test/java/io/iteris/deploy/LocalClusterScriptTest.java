package io.iteris.deploy;

import io.iteris.core.peft.PeftAdapter;
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
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** deploy/local-cluster.sh starts real node processes that a merge runs on, and stops them by their pids. */
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

    @Test
    void startsThreeNodesThatMergeThenStopsThem() throws Exception {
        Server h2 = Server.createTcpServer("-tcpPort", String.valueOf(freePort()), "-ifNotExists", "-baseDir", tmp.resolve("h2").toString()).start();
        int port0 = consecutiveFreePorts(3);
        String journal = "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/journal";
        Map<String, String> env = Map.of(
                "ITERIS_CLUSTER_DIR", tmp.resolve("cluster").toString(),
                "ITERIS_CLUSTER_PORT", String.valueOf(port0),
                "ITERIS_CLUSTER_JOURNAL", journal,
                "ITERIS_NODE_CMD", Path.of(System.getProperty("java.home"), "bin", "java") + " -Xss16m -Xmx1g -cp "
                        + System.getProperty("java.class.path") + " io.iteris.deploy.Main");
        try {
            Result started = script(env, "start", "3");
            assertEquals(0, started.code(), started.out());
            assertTrue(started.out().contains("cluster up: 3 nodes"), started.out());
            Result status = script(env, "status");
            assertEquals(3, status.out().lines().filter(l -> l.endsWith(" up")).count(), status.out());

            Path out = tmp.resolve("merged");
            StringWriter err = new StringWriter();
            CommandLine cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            Path example = ROOT.resolve("examples/demo");
            int code = cl.execute("merge", "--config", example.resolve("merge.conf").toString(), "--out", out.toString(),
                    "--cluster", "127.0.0.1:" + port0, "--journal", journal, "--store", tmp.resolve("cluster/store").toString());
            assertEquals(0, code, err.toString());
            assertEquals(3, PeftAdapter.load(out).modules().size());
            assertTrue(Files.size(out.resolve("report.html")) > 10_000, "the merge's report page with its charts");

            // `status` reads the cluster's journal: the job, completed, its iterations and the work per node
            StringWriter listed = new StringWriter();
            CommandLine st = Main.commandLine();
            st.setOut(new PrintWriter(listed, true));
            assertEquals(0, st.execute("status", "--journal", journal, "--work-dir", tmp.resolve("status").toString()), listed.toString());
            List<String> jobs = listed.toString().lines().toList();
            assertEquals(1, jobs.size(), listed.toString());
            assertTrue(jobs.get(0).contains(" completed "), listed.toString());
            String jobId = jobs.get(0).split(" ")[0];
            StringWriter one = new StringWriter();
            CommandLine st1 = Main.commandLine();
            st1.setOut(new PrintWriter(one, true));
            assertEquals(0, st1.execute("status", jobId, "--journal", journal, "--work-dir", tmp.resolve("status").toString()));
            assertTrue(one.toString().contains("iteration 1 completed") && one.toString().contains("work units done per node:")
                    && one.toString().contains("output: " + out), one.toString());
        } finally {
            Result stopped = script(env, "stop");
            assertEquals(0, stopped.code(), stopped.out());
            h2.stop();
        }
        Result after = script(Map.of("ITERIS_CLUSTER_DIR", tmp.resolve("cluster").toString()), "status");
        assertTrue(after.out().contains("no nodes recorded"), after.out());
        try (var pids = Files.list(tmp.resolve("cluster"))) {
            assertTrue(pids.noneMatch(p -> p.toString().endsWith(".pid")), "pid files removed");
        }
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
