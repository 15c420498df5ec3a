package io.iteris.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.IterisNode;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Where a command's merges run: this process, a one-node cluster in this JVM, or a running cluster. */
final class EngineOptions extends ClusterOptions {
    @Option(names = "--engine", defaultValue = "cluster",
            description = "cluster (the actor engine: a one-node cluster in this JVM, or --cluster) | local (a plain loop)")
    String engine;

    @Option(names = "--workers", description = "inference workers of the in-JVM node (iteris.engine.workers-per-node)")
    Integer workers;

    @Option(names = "--device", paramLabel = "cpu|cuda[:N]",
            description = "where this process runs ONNX models (local engine, or the in-JVM node's workers); cuda needs the GPU build")
    String device;

    @Option(names = "--gram", paramLabel = "auto|device|host",
            description = "where an ONNX model's Gram statistics are multiplied: in the ONNX Runtime session on its device, or in the JVM"
                    + " (iteris.engine.worker.gram; default auto: device on CUDA, host on the CPU)")
    String gram;

    @Option(names = "--cluster", paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "submit to the running cluster with these seed nodes (with --journal, --store and, if it has TLS, --tls)")
    String cluster;

    boolean local() {
        if (!engine.equals("local") && !engine.equals("cluster")) {
            throw new IllegalArgumentException("--engine must be cluster or local, got '" + engine + "'");
        }
        return engine.equals("local");
    }

    /**
     * The device of the local engine's model, from the flags over the settings of a --config file (the in-JVM node's
     * workers read the same settings).
     */
    io.iteris.core.model.onnx.Device device(Config file) {
        Map<String, Object> m = new java.util.HashMap<>();
        putIfGiven(m, "iteris.engine.worker.device", device);
        putIfGiven(m, "iteris.engine.worker.gram", gram);
        Config c = ConfigFactory.parseMap(m).withFallback(file).withFallback(ConfigFactory.defaultReference()).getConfig("iteris.engine.worker");
        return io.iteris.core.model.onnx.Device.parse(c.getString("device"))
                .withGram(io.iteris.core.model.onnx.Device.Gram.parse(c.getString("gram"))).check();
    }

    Path workDir() {
        return workDir(ConfigFactory.empty());
    }

    /** A node for one job: a client of the --cluster, or a one-node cluster of its own keeping its files under the job's directory. */
    IterisNode start(String jobId) {
        return start(jobId, ConfigFactory.empty());
    }

    /** As above, with the settings of a --config file under the flags. */
    IterisNode start(String jobId, Config file) {
        Map<String, Object> m = flags();
        m.put("pekko.remote.artery.canonical.port", 0);
        if (cluster != null) {
            m.put("pekko.cluster.seed-nodes", seeds(cluster));
            m.put("iteris.engine.roles", List.of());
            m.put("iteris.engine.work-dir", workDir(file).toString());
        } else {
            putIfGiven(m, "iteris.engine.workers-per-node", workers);
            putIfGiven(m, "iteris.engine.worker.device", device);
            putIfGiven(m, "iteris.engine.worker.gram", gram);
            m.put("iteris.engine.work-dir", workDir(file).resolve(jobId).toString());
            // a cluster of its own: no seeds, whatever a config file lists
            m.put("pekko.cluster.seed-nodes", List.of());
            // Alone in its cluster, the node's sharding coordinators have no one to hand over to when it leaves: their
            // singleton managers retry the hand-over once a second (Pekko's default) until the node is removed, which
            // made closing the node cost 1.2 s of a 9 s merge. 100 ms retries close it in 0.3-0.5 s (docs/performance.md).
            m.put("pekko.cluster.singleton.hand-over-retry-interval", "100ms");
            m.put("pekko.cluster.sharding.coordinator-singleton.hand-over-retry-interval", "100ms");
        }
        IterisNode node = IterisNode.start(ConfigFactory.parseMap(m).withFallback(file));
        try {
            node.awaitUp();
        } catch (RuntimeException e) {
            node.close();
            throw new IllegalArgumentException(cluster != null ? "cannot join the cluster at " + cluster + ": " + e.getMessage()
                    + (node.tls() ? " (do its nodes trust this --tls certificate?)" : " (does it need --tls?)") : e.getMessage(), e);
        }
        return node;
    }
}
