package io.iteris.bench.cluster;

import io.iteris.actors.metrics.ProcessMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** An iteris cluster node in a JVM of its own ({@code iteris node}), which a chaos run may kill or pause. */
public final class NodeProcess implements AutoCloseable {
    private final int port;
    private final Process process;
    private final Path log;

    private NodeProcess(int port, Process process, Path log) {
        this.port = port;
        this.process = process;
        this.log = log;
    }

    /**
     * How to start one node: the same seed list on every node of a cluster, its TLS directory (null: plain TCP),
     * and extra JVM options (e.g. a fault to inject).
     */
    public record Options(String seeds, String journal, String journalUser, Path journalPasswordFile, Path store, Path workDir, Path log, String heap, Path tls, List<String> jvmOptions) {
    }

    /** Starts {@code iteris node} with this JVM's class path; output goes to the log. */
    public static NodeProcess start(int port, Options o) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xss16m", "-Xmx" + o.heap()));
        cmd.addAll(o.jvmOptions());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
                "-Diteris.home=" + System.getProperty("iteris.home", "."),
                "io.iteris.deploy.Main", "node", "--seed", o.seeds(), "--port", String.valueOf(port),
                "--workers", "1", "--journal", o.journal(), "--journal-user", o.journalUser(),
                "--journal-password-file", o.journalPasswordFile().toString(), "--store", o.store().toString(), "--work-dir", o.workDir().toString(),
                "--join-timeout", "90s"));
        if (o.tls() != null) {
            cmd.addAll(List.of("--tls", o.tls().toString()));
        }
        try {
            Files.createDirectories(o.log().getParent());
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(o.log().toFile()));
            pb.environment().put("ITERIS_EVENT_LOG", o.workDir().resolve("events-" + port + ".jsonl").toString());
            // the node's own account (recovery, reassignments, solver requests) is what explains a failed run
            pb.environment().put("ITERIS_LOG_LEVEL", "INFO");
            io.iteris.core.linalg.NativeMath.applyThreadPolicy(pb.environment()); // as bin/iteris starts a node
            return new NodeProcess(port, pb.start(), o.log());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a node process", e);
        }
    }

    /** Waits (bounded) for the node to report itself up. */
    public void awaitUp(long timeoutMillis) {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            if (logText().contains("iteris node up")) {
                return;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("node on port " + port + " exited: " + tail());
            }
            sleep(100);
        }
        throw new IllegalStateException("node on port " + port + " not up within " + timeoutMillis + " ms: " + tail());
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    /** The process's peak resident memory so far (heap, off-heap buffers and native libraries), from /proc; -1 where unknown. */
    public long peakRssBytes() {
        return ProcessMemory.bytes(String.valueOf(pid()), "VmHWM");
    }

    /** Resident memory now, anonymous (heap, off-heap buffers, native allocations) and file-backed (mapped files), in bytes. */
    public long[] rssAnonAndFile() {
        String pid = String.valueOf(pid());
        return new long[]{ProcessMemory.bytes(pid, "RssAnon"), ProcessMemory.bytes(pid, "RssFile")};
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hook, no leaving the cluster. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGSTOP / SIGCONT. */
    public void pause() {
        signal("STOP");
    }

    public void resume() {
        signal("CONT");
    }

    private void signal(String sig) {
        try {
            Process p = new ProcessBuilder("kill", "-" + sig, String.valueOf(pid())).start();
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public String tail() {
        String t = logText();
        return t.substring(Math.max(0, t.length() - 2000));
    }

    private String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }

    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            resume();
            kill();
        }
    }
}
