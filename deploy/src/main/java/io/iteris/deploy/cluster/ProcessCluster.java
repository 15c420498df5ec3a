package io.iteris.deploy.cluster;

import io.iteris.actors.Entities;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.IterisNode;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.h2.tools.Server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Three node processes on 127.0.0.1 sharing a journal (an H2 TCP server in this JVM, loopback only) and a
 * checkpoint directory, plus a client node in this JVM that submits jobs and reads the journal.
 */
public final class ProcessCluster implements AutoCloseable {
    public final Path dir;
    public final String journal;
    public final Path store;
    private final Server h2;
    public final List<NodeProcess> nodes = new ArrayList<>();
    private final List<NodeProcess> retired = new ArrayList<>();
    public IterisNode client;
    /** Set from the job's progress messages: the address of the node its supervisor runs on. */
    public volatile String supervisorNode;
    private int seedPort;

    public ProcessCluster(Path dir) {
        this.dir = dir;
        this.store = dir.resolve("store");
        Runtime.getRuntime().addShutdownHook(reaper);
        try {
            int port = freePort();
            h2 = Server.createTcpServer("-tcpPort", String.valueOf(port), "-ifNotExists", "-baseDir", dir.resolve("h2").toString()).start();
            journal = "jdbc:h2:tcp://127.0.0.1:" + port + "/journal";
        } catch (SQLException e) {
            throw new IllegalStateException("cannot start the H2 journal server: " + e.getMessage(), e);
        }
    }

    /** Starts {@code n} node processes (the first seeds) and the client, and waits until all are up. */
    public void start(int n) {
        start(n, "1g");
    }

    /** As above, each node with at most {@code heap} of Java heap (e.g. "3g"). */
    public void start(int n, String heap) {
        seedPort = freePort();
        for (int i = 0; i < n; i++) {
            int port = i == 0 ? seedPort : freePort();
            nodes.add(NodeProcess.start(port, seedPort, journal, store, dir.resolve("node-" + port), dir.resolve("logs/node-" + port + ".log"), heap));
        }
        for (NodeProcess p : nodes) {
            p.awaitUp(120_000);
        }
        client = IterisNode.start(ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.canonical.port", freePort(),
                "pekko.cluster.seed-nodes", List.of("pekko://iteris@127.0.0.1:" + seedPort),
                "iteris.engine.roles", List.of(),
                "iteris.engine.journal", journal,
                "iteris.engine.store-dir", store.toString(),
                "iteris.engine.work-dir", dir.resolve("client").toString())));
        client.awaitUp(Duration.ofSeconds(60));
    }

    /** Kills every node and the client: the whole cluster is gone. */
    public void killAll() {
        for (NodeProcess p : nodes) {
            p.kill();
        }
        retired.addAll(nodes);
        nodes.clear();
        client.close();
        client = null;
    }

    public NodeProcess byAddress(String address) {
        for (NodeProcess p : nodes) {
            if (address.contains("127.0.0.1:" + p.port())) {
                return p;
            }
        }
        return null;
    }

    /** Ports of the nodes hosting shards of an entity type. */
    public Set<Integer> hosts(EntityTypeKey<?> key) {
        try {
            ShardRegion.ClusterShardingStats stats = AskPattern.<ClusterShardingQuery, ShardRegion.ClusterShardingStats>ask(
                    ClusterSharding.get(client.system()).shardState(),
                    reply -> new GetClusterShardingStats(key, Duration.ofSeconds(5), reply),
                    Duration.ofSeconds(10), client.system().scheduler()).toCompletableFuture().get(15, TimeUnit.SECONDS);
            Set<Integer> ports = new HashSet<>();
            stats.getRegions().forEach((address, region) -> {
                if (!region.getStats().isEmpty() && address.port().isDefined()) {
                    ports.add((Integer) address.port().get());
                }
            });
            return ports;
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the sharding state: " + e.getMessage(), e);
        }
    }

    public Set<Integer> solverHosts() {
        return hosts(Entities.SOLVER);
    }

    /** The node running the job's supervisor, as its last progress message said. */
    public Set<Integer> supervisorHosts() {
        NodeProcess p = supervisorNode == null ? null : byAddress(supervisorNode);
        return p == null ? Set.of() : Set.of(p.port());
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last {@code lines} lines of every node log under {@code logs}. */
    public static String logTails(Path logs, int lines) {
        StringBuilder sb = new StringBuilder();
        try (var files = java.nio.file.Files.list(logs)) {
            for (Path f : files.sorted().toList()) {
                List<String> all = java.nio.file.Files.readAllLines(f);
                sb.append("--- ").append(f.getFileName()).append(" ---\n");
                all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> sb.append(l).append('\n'));
            }
        } catch (IOException | UncheckedIOException e) {
            sb.append("(cannot read the node logs: ").append(e.getMessage()).append(")\n");
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (client != null) {
            client.close();
        }
        killNodes();
        h2.stop();
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down and the hook runs anyway
        }
    }

    /** Even when this JVM is stopped (Ctrl-C, a killed test run), its node processes must not outlive it. */
    private final Thread reaper = new Thread(this::killNodes, "process-cluster-reaper");

    private synchronized void killNodes() {
        for (NodeProcess p : nodes) {
            p.close();
        }
        for (NodeProcess p : retired) {
            p.close();
        }
    }
}
