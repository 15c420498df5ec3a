package io.iteris.actors.cluster;

import com.typesafe.config.Config;

import java.time.Duration;

/** {@code iteris.engine}, read once when a node starts. */
public record EngineSettings(int workersPerNode, int chunkBytes, int maxInFlightChunks, Duration ackTimeout,
                             int maxChunkRetries, Duration unitTimeout, Duration solveTimeout, Duration tickInterval) {

    public static EngineSettings from(Config config) {
        Config c = config.getConfig("iteris.engine");
        long chunk = c.getBytes("chunk-size");
        long frame = config.getBytes("pekko.remote.artery.advanced.maximum-frame-size");
        if (chunk <= 0 || chunk + 64 * 1024 > frame) {
            // an oversized message is dropped by Artery with only a log line: refuse the setting instead
            throw new IllegalArgumentException("iteris.engine.chunk-size (" + chunk + " bytes) must be positive and leave "
                    + "64 KiB of room under pekko.remote.artery.advanced.maximum-frame-size (" + frame + " bytes)");
        }
        return new EngineSettings(c.getInt("workers-per-node"), (int) chunk, c.getInt("max-in-flight-chunks"),
                c.getDuration("ack-timeout"), c.getInt("max-chunk-retries"), c.getDuration("unit-timeout"),
                c.getDuration("solve-timeout"), c.getDuration("tick-interval"));
    }
}
