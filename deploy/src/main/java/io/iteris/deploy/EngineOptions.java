package io.iteris.deploy;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.cluster.IterisNode;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Where a command's merges run: this process, a one-node cluster in this JVM, or a running cluster. */
final class EngineOptions {
    @Option(names = "--engine", defaultValue = "cluster",
            description = "cluster (the actor engine: a one-node cluster in this JVM, or --cluster) | local (a plain loop)")
    String engine;

    @Option(names = "--workers", defaultValue = "2", description = "inference workers of the in-JVM node")
    int workers;

    @Option(names = "--cluster", paramLabel = "HOST:PORT", description = "submit to the running cluster with this seed node")
    String cluster;

    @Option(names = "--journal", paramLabel = "JDBC-URL", description = "the cluster's journal (with --cluster); default: an H2 file in the work dir")
    String journal;

    @Option(names = "--journal-user", defaultValue = "", description = "journal database user")
    String journalUser;

    @Option(names = "--journal-password", defaultValue = "", description = "journal database password")
    String journalPassword;

    @Option(names = "--store", description = "checkpoint store directory, shared by every node (with --cluster)")
    Path store;

    @Option(names = "--work-dir", description = "where jobs keep their journal and checkpoints (default: iteris.engine.work-dir)")
    Path workDir;

    boolean local() {
        if (!engine.equals("local") && !engine.equals("cluster")) {
            throw new IllegalArgumentException("--engine must be cluster or local, got '" + engine + "'");
        }
        return engine.equals("local");
    }

    Path workDir() {
        return workDir != null ? workDir : Path.of(ConfigFactory.load().getString("iteris.engine.work-dir"));
    }

    /** A node for one job: a client of the --cluster, or a one-node cluster of its own keeping its files under the job's directory. */
    IterisNode start(String jobId) {
        Map<String, Object> m = new HashMap<>();
        m.put("pekko.remote.artery.canonical.port", 0);
        m.put("iteris.engine.journal-user", journalUser);
        m.put("iteris.engine.journal-password", journalPassword);
        if (cluster != null) {
            if (journal == null) {
                throw new IllegalArgumentException("--cluster needs the cluster's --journal URL");
            }
            m.put("pekko.cluster.seed-nodes", List.of(seed(cluster)));
            m.put("iteris.engine.roles", List.of());
            m.put("iteris.engine.journal", journal);
            m.put("iteris.engine.work-dir", workDir().toString());
            if (store != null) {
                m.put("iteris.engine.store-dir", store.toAbsolutePath().toString());
            }
        } else {
            m.put("iteris.engine.workers-per-node", workers);
            m.put("iteris.engine.work-dir", workDir().resolve(jobId).toString());
            if (journal != null) {
                m.put("iteris.engine.journal", journal);
            }
        }
        IterisNode node = IterisNode.start(ConfigFactory.parseMap(m));
        try {
            node.awaitUp(Duration.ofSeconds(60));
        } catch (RuntimeException e) {
            node.close();
            throw new IllegalArgumentException(cluster != null ? "cannot join the cluster at " + cluster + ": " + e.getMessage() : e.getMessage(), e);
        }
        return node;
    }

    static String seed(String hostPort) {
        if (!hostPort.matches("[^:]+:\\d+")) {
            throw new IllegalArgumentException("a seed node is HOST:PORT, got '" + hostPort + "'");
        }
        return "pekko://iteris@" + hostPort;
    }
}
