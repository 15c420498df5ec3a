package io.iteris.deploy;

import io.iteris.bench.Installation;
import io.iteris.core.engine.Merger;
import io.iteris.core.engine.PublishedOutput;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.bench.cluster.NodeProcess;
import io.iteris.bench.cluster.ProcessCluster;
import io.iteris.actors.client.ActorEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With real JVMs: a cluster speaking mutual TLS admits only holders of a certificate of its own CA. A node in
 * plain TCP and a node whose certificate another CA signed both fail to join within their join timeout, and a
 * plain-TCP client cannot submit; the cluster itself merges. No password is on any node's command line.
 */
class ClusterSecurityTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    record Run(int code, String out, double seconds) {
    }

    /** {@code iteris ARGS} in a JVM of its own, bounded. */
    private static Run iteris(List<String> jvmOptions, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xss16m", "-Xmx512m"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.iteris.deploy.Main"));
        cmd.addAll(List.of(args));
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(150, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("iteris " + String.join(" ", args) + " did not end");
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes()), (System.nanoTime() - t0) / 1e9);
    }

    private static CompletableFuture<Run> attempt(List<String> jvmOptions, String... args) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return iteris(jvmOptions, args);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, runnable -> {
            Thread t = new Thread(runnable, "intruder");
            t.setDaemon(true);
            t.start();
        });
    }

    @Test
    void onlyHoldersOfTheClustersCaJoinAndTheClusterMerges() throws Exception {
        Path example = ROOT.resolve("examples/demo");
        try (ProcessCluster cluster = new ProcessCluster(tmp.resolve("cluster"))) {
            cluster.start(1);
            NodeProcess node = cluster.nodes.get(0);
            String seed = "127.0.0.1:" + node.port();

            assertEquals(0, new ProcessBuilder("bash", Installation.script("certs.sh").toString(), tmp.resolve("other-ca").toString(), "intruder")
                    .redirectErrorStream(true).start().waitFor());
            // the three intruders try at once (each gives up after its 15 s join timeout)
            CompletableFuture<Run> plainNode = attempt(List.of(), "node", "--seed", seed, "--port", "0", "--join-timeout", "15s",
                    "--work-dir", tmp.resolve("plain").toString());
            CompletableFuture<Run> foreignNode = attempt(List.of(), "node", "--seed", seed, "--port", "0", "--join-timeout", "15s",
                    "--work-dir", tmp.resolve("foreign").toString(), "--tls", tmp.resolve("other-ca/intruder").toString());
            CompletableFuture<Run> plainSubmit = attempt(List.of("-Diteris.engine.join-timeout=15s"), "merge", "--config",
                    example.resolve("merge.conf").toString(), "--out", tmp.resolve("never").toString(), "--cluster", seed,
                    "--journal", cluster.journal, "--journal-user", "iteris", "--journal-password-file", cluster.journalPasswordFile.toString(),
                    "--store", cluster.store.toString());

            Run plain = plainNode.get(180, TimeUnit.SECONDS);
            assertNotEquals(0, plain.code(), plain.out());
            assertTrue(plain.out().contains("no seed node let this node join within 15 s"), plain.out());
            assertTrue(plain.seconds() < 15 + 60, "it gave up after its join timeout: " + plain.seconds() + " s");
            Run foreign = foreignNode.get(180, TimeUnit.SECONDS);
            assertNotEquals(0, foreign.code(), foreign.out());
            assertTrue(foreign.out().contains("is this node's certificate signed by the cluster's CA?"), foreign.out());
            Run submit = plainSubmit.get(180, TimeUnit.SECONDS);
            assertNotEquals(0, submit.code(), submit.out());
            assertTrue(submit.out().contains("cannot join the cluster at " + seed), submit.out());
            assertFalse(Files.exists(tmp.resolve("never")));

            Path out = tmp.resolve("merged");
            Merger.LoadedJob job = Merger.load(io.iteris.core.config.MergeSettings.from(new MergeCommandConfig(example, out).config()));
            new ActorEngine(cluster.client, p -> { }, Duration.ofMinutes(3)).submit(job, "tls-merge", null);
            assertEquals(3, PeftAdapter.load(out).modules().size(), "the TLS cluster merges");
            assertTrue(PublishedOutput.ownedBy(out, "tls-merge"), "the output records the job that published it");

            String cmdline = Files.readString(Path.of("/proc", String.valueOf(node.pid()), "cmdline")).replace('\0', ' ');
            String journalPassword = Files.readString(cluster.journalPasswordFile).strip();
            String storePassword = Files.readString(tmp.resolve("cluster/tls/node-0/password")).strip();
            assertTrue(cmdline.contains("--journal-password-file") && cmdline.contains("--tls"), cmdline);
            assertFalse(cmdline.contains(journalPassword), "the journal password is not on the node's command line");
            assertFalse(cmdline.contains(storePassword), "the key store password is not on the node's command line");
        }
    }

    /** The demo merge's settings, as `merge --config examples/demo/merge.conf --out OUT` reads them. */
    private record MergeCommandConfig(Path example, Path out) {
        com.typesafe.config.Config config() throws IOException {
            MergeCommand m = new MergeCommand();
            m.config = example.resolve("merge.conf");
            m.out = out;
            return m.config();
        }
    }
}
