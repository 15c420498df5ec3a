package io.iteris.bench.cluster;

import io.iteris.actors.Entities;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.IterisNode;
import io.iteris.bench.Installation;
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
 * Node processes on 127.0.0.1 sharing a journal (an H2 TCP server in this JVM, loopback only) and a checkpoint
 * directory, speaking mutual TLS with certificates of a CA of their own (deploy/certs.sh), plus a client node in
 * this JVM that submits jobs and reads the journal. Every node lists every node as a seed, as
 * deploy/local-cluster.sh does, so a restarted node (the first included) rejoins the running cluster.
 */
public final class ProcessCluster implements AutoCloseable {
    static final String JOURNAL_USER = "iteris";
    public final Path dir;
    public final String journal;
    public final Path store;
    public final Path journalPasswordFile;
    private final Server h2;
    public final List<NodeProcess> nodes = new ArrayList<>();
    private final List<NodeProcess> retired = new ArrayList<>();
    public IterisNode client;
    /** Set from the job's progress messages: the address of the node its supervisor runs on. */
    public volatile String supervisorNode;
    private int seedPort;
    private String seeds;
    private final List<String> jvmOptions = new ArrayList<>();
    private final Path tls;

    public ProcessCluster(Path dir) {
        this(dir, dir.resolve("tls"));
    }

    /**
     * As above, with the certificates in {@code tls}: made there by the first cluster, kept and reused by later ones
     * (deploy/certs.sh takes seconds of JVM starts per name; a soak of many clusters makes them once).
     */
    public ProcessCluster(Path dir, Path tls) {
        this.dir = dir;
        this.tls = tls;
        this.store = dir.resolve("store");
        Runtime.getRuntime().addShutdownHook(reaper);
        try {
            int port = freePort();
            h2 = Server.createTcpServer("-tcpPort", String.valueOf(port), "-ifNotExists", "-baseDir", dir.resolve("h2").toString()).start();
            journal = "jdbc:h2:tcp://127.0.0.1:" + port + "/journal";
            // the journal has a password, as a real one does; nodes read it from a file
            journalPasswordFile = dir.resolve("journal-password");
            if (!java.nio.file.Files.exists(journalPasswordFile)) {
                java.nio.file.Files.createDirectories(dir);
                java.nio.file.Files.writeString(journalPasswordFile, java.util.UUID.randomUUID() + "\n");
                java.nio.file.Files.setPosixFilePermissions(journalPasswordFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the journal password", e);
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
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ports.add(freePort());
        }
        seedPort = ports.get(0);
        seeds = String.join(",", ports.stream().map(p -> "127.0.0.1:" + p).toList());
        certificates(n);
        for (int i = 0; i < n; i++) {
            nodes.add(NodeProcess.start(ports.get(i), options(i, ports.get(i), heap)));
        }
        for (NodeProcess p : nodes) {
            p.awaitUp(120_000);
        }
        client = IterisNode.start(ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.canonical.port", freePort(),
                "pekko.cluster.seed-nodes", ports.stream().map(p -> "pekko://iteris@127.0.0.1:" + p).toList(),
                "iteris.engine.roles", List.of(),
                "iteris.engine.journal", journal,
                "iteris.engine.journal-user", JOURNAL_USER,
                "iteris.engine.journal-password-file", journalPasswordFile.toString(),
                "iteris.engine.store-dir", store.toString(),
                "iteris.engine.tls.dir", tls.resolve("client").toString(),
                "iteris.engine.work-dir", dir.resolve("client").toString())));
        client.awaitUp(Duration.ofSeconds(60));
    }

    /** JVM options every node started from now on gets (a fault to inject, say). */
    public ProcessCluster withNodeJvmOptions(String... options) {
        jvmOptions.addAll(List.of(options));
        return this;
    }

    private NodeProcess.Options options(int index, int port, String heap) {
        return new NodeProcess.Options(seeds, journal, JOURNAL_USER, journalPasswordFile, store, dir.resolve("node-" + port), dir.resolve("logs/node-" + port + ".log"),
                heap, tls.resolve("node-" + index), List.copyOf(jvmOptions));
    }

    /** A CA of the cluster's own and a TLS directory per node and for the client (kept when they exist). */
    private void certificates(int n) {
        List<String> cmd = new ArrayList<>(List.of("bash", Installation.script("certs.sh").toString(), tls.toString(), "client"));
        for (int i = 0; i < n; i++) {
            cmd.add("node-" + i);
        }
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("deploy/certs.sh failed: " + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run deploy/certs.sh", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
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
