package io.iteris.actors.engine;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.IterisNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Cluster nodes for tests: several ActorSystems in this JVM on 127.0.0.1, sharing a journal and a store. */
final class Nodes {
    private Nodes() {
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @param seedPort the first node's port; a node on that port seeds itself
     * @param journal  JDBC URL ("" for the H2 file under workDir)
     */
    static IterisNode start(int port, int seedPort, Path workDir, int workers, String journal, Map<String, Object> extra) {
        Map<String, Object> m = new HashMap<>();
        m.put("pekko.remote.artery.canonical.port", port);
        m.put("pekko.cluster.seed-nodes", List.of("pekko://iteris@127.0.0.1:" + seedPort));
        m.put("iteris.engine.workers-per-node", workers);
        m.put("iteris.engine.work-dir", workDir.toString());
        m.put("iteris.engine.journal", journal);
        m.put("iteris.engine.journal-user", System.getenv().getOrDefault("ITERIS_TEST_POSTGRES_USER", ""));
        m.put("iteris.engine.journal-password", System.getenv().getOrDefault("ITERIS_TEST_POSTGRES_PASSWORD", ""));
        m.putAll(extra);
        return IterisNode.start(ConfigFactory.parseMap(m));
    }

    /**
     * A node that {@link #crash} can take down abruptly: its actor system stops without the coordinated shutdown
     * (no leaving the cluster, no hand-off of shards), and its journal is followed every 50 ms.
     */
    static final Map<String, Object> CRASHABLE = Map.of("pekko.coordinated-shutdown.run-by-actor-system-terminate", "off",
            "jdbc-read-journal.refresh-interval", "50ms");

    /** Stops a {@link #CRASHABLE} node's actors where they are: the in-JVM stand-in for SIGKILL. */
    static void crash(IterisNode node) {
        node.system().terminate();
    }

    static void awaitUp(Duration timeout, IterisNode... nodes) {
        for (IterisNode n : nodes) {
            n.awaitUp(timeout);
        }
    }
}
