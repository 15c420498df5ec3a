package io.iteris.actors.cluster;

import com.typesafe.config.Config;
import io.iteris.actors.stream.ChunkSender;
import io.iteris.core.model.onnx.Device;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** {@code iteris.engine}, read once when a node starts. */
public record EngineSettings(int workersPerNode, int chunkBytes, int maxInFlightChunks, Duration ackTimeout,
                             int maxChunkRetries, Duration unitTimeout, Duration solveTimeout, Duration tickInterval,
                             int maxSupervisorRestarts, Duration restartBackoffMin, Duration restartBackoffMax,
                             List<Path> outputRoots, Duration joinTimeout, Device workerDevice, Faults faults,
                             int snapshotEvery, int snapshotsKept) {

    public static EngineSettings from(Config config) {
        Config c = config.getConfig("iteris.engine");
        long chunk = c.getBytes("chunk-size");
        long frame = config.getBytes("pekko.remote.artery.advanced.maximum-frame-size");
        if (chunk <= 0 || chunk + 64 * 1024 > frame) {
            // an oversized message is dropped by Artery with only a log line: refuse the setting instead
            throw new IllegalArgumentException("iteris.engine.chunk-size (" + chunk + " bytes) must be positive and leave "
                    + "64 KiB of room under pekko.remote.artery.advanced.maximum-frame-size (" + frame + " bytes)");
        }
        Config f = c.getConfig("fault-injection");
        Device device = Device.parse(c.getString("worker.device")).withGram(Device.Gram.parse(c.getString("worker.gram")));
        return new EngineSettings(workers(c, device, config.getStringList("pekko.cluster.roles").contains("worker")), (int) chunk, c.getInt("max-in-flight-chunks"),
                c.getDuration("ack-timeout"), c.getInt("max-chunk-retries"), c.getDuration("unit-timeout"),
                c.getDuration("solve-timeout"), c.getDuration("tick-interval"), c.getInt("max-supervisor-restarts"),
                c.getDuration("supervisor-restart-backoff.min"), c.getDuration("supervisor-restart-backoff.max"),
                c.getStringList("output-roots").stream().map(p -> Path.of(p).toAbsolutePath().normalize()).toList(),
                c.getDuration("join-timeout"), device, new Faults(path(f, "halt-after-publish"), path(f, "supervisor-error"),
                path(f, "slow-solve"), f.getDuration("slow-solve-for"), path(f, "stream-error")),
                atLeast(c, "snapshot-every", 0), atLeast(c, "snapshots-kept", 1));
    }

    private static int atLeast(Config c, String key, int min) {
        int v = c.getInt(key);
        if (v < min) {
            throw new IllegalArgumentException("iteris.engine." + key + " must be at least " + min + ", got " + v);
        }
        return v;
    }

    private static Path path(Config c, String key) {
        String p = c.getString(key);
        return p.isEmpty() ? null : Path.of(p);
    }

    /** {@code workers-per-node}: a number, or auto (one per GPU for device cuda, else 2); a node without the worker role starts none. */
    private static int workers(Config c, Device device, boolean worker) {
        String v = c.getString("workers-per-node").strip();
        if (!v.equals("auto")) {
            int n;
            try {
                n = Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("iteris.engine.workers-per-node must be a number or auto, got '" + v + "'");
            }
            if (n < 0) {
                throw new IllegalArgumentException("iteris.engine.workers-per-node must not be negative, got " + n);
            }
            return n;
        }
        return worker ? device.defaultWorkers(2) : 0;
    }

    /** The worker's send window. */
    public ChunkSender.Settings chunkSender() {
        return new ChunkSender.Settings(chunkBytes, maxInFlightChunks, ackTimeout, maxChunkRetries);
    }

    /**
     * Faults a test injects at points that no external kill can hit reliably ({@code iteris.engine.fault-injection}).
     * Each is armed by a file. A halt and a stream error happen once: the first node to reach the point deletes the
     * file (and halts, or its stream throws). A supervisor error and a slow solve last while the file exists.
     */
    public record Faults(Path haltAfterPublish, Path supervisorError, Path slowSolve, Duration slowSolveFor, Path streamError) {
        /** No fault armed. */
        public static final Faults NONE = new Faults(null, null, null, Duration.ZERO, null);

        /** While the file exists, a supervisor fails on every solved layer (its restarts are bounded). */
        public void onLayerSolved() {
            if (supervisorError != null && Files.exists(supervisorError)) {
                throw new IllegalStateException("injected fault (" + supervisorError.getFileName() + ")");
            }
        }

        /** While the file exists, every solve first sleeps {@link #slowSolveFor} (a node busy with a long solve). */
        public void beforeSolve() {
            if (slowSolve != null && Files.exists(slowSolve)) {
                LoggerFactory.getLogger(Faults.class).warn("fault injection: a solve sleeps {} s", slowSolveFor.toSeconds());
                try {
                    Thread.sleep(slowSolveFor.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /** The first statistics stream to start after the file appears deletes it and throws (a crashing stream). */
        public void onStreamStart() {
            try {
                if (streamError != null && Files.deleteIfExists(streamError)) {
                    throw new IllegalStateException("injected fault: the statistics stream fails (" + streamError.getFileName() + ")");
                }
            } catch (IOException e) {
                throw new IllegalStateException("fault injection file " + streamError + ": " + e.getMessage(), e);
            }
        }

        /** Between the output's rename into place and the job's completion being journaled. */
        public void afterPublish() {
            try {
                if (haltAfterPublish != null && Files.deleteIfExists(haltAfterPublish)) {
                    LoggerFactory.getLogger(Faults.class).warn("fault injection: halting after publishing, before recording completion");
                    Runtime.getRuntime().halt(70);
                }
            } catch (IOException e) {
                throw new IllegalStateException("fault injection file " + haltAfterPublish + ": " + e.getMessage(), e);
            }
        }
    }
}
