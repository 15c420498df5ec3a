package io.iteris.deploy;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.cluster.IterisNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code iteris node}: one cluster node, running until it is stopped. */
@Command(name = "node", mixinStandardHelpOptions = true, description = "Start a node that joins (or seeds) an iteris cluster.")
public final class NodeCommand implements Callable<Integer> {
    @Option(names = "--seed", required = true, paramLabel = "HOST:PORT", description = "a seed node; give this node's own address to start a cluster")
    String seed;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address this node binds and announces")
    String host;

    @Option(names = "--port", defaultValue = "25520", description = "this node's port")
    int port;

    @Option(names = "--roles", defaultValue = "worker,solver,supervisor", split = ",", description = "worker, solver, supervisor")
    List<String> roles;

    @Option(names = "--workers", defaultValue = "2", description = "inference workers (with the worker role)")
    int workers;

    @Option(names = "--journal", description = "journal JDBC URL shared by the cluster (jdbc:postgresql://… or jdbc:h2:tcp://…)")
    String journal;

    @Option(names = "--journal-user", defaultValue = "")
    String journalUser;

    @Option(names = "--journal-password", defaultValue = "")
    String journalPassword;

    @Option(names = "--store", description = "checkpoint store directory shared by every node")
    Path store;

    @Option(names = "--work-dir", description = "local work directory (default: iteris.engine.work-dir)")
    Path workDir;

    @Option(names = "--join-timeout", defaultValue = "60", description = "seconds to wait for the seed node before giving up")
    int joinTimeout;

    @Override
    public Integer call() throws Exception {
        for (String r : roles) {
            if (!List.of("worker", "solver", "supervisor").contains(r)) {
                throw new IllegalArgumentException("unknown role '" + r + "'; roles are worker, solver, supervisor");
            }
        }
        Map<String, Object> m = new HashMap<>();
        m.put("pekko.remote.artery.canonical.hostname", host);
        m.put("pekko.remote.artery.canonical.port", port);
        m.put("pekko.cluster.seed-nodes", List.of(EngineOptions.seed(seed)));
        m.put("iteris.engine.roles", roles);
        m.put("iteris.engine.workers-per-node", workers);
        m.put("iteris.engine.journal-user", journalUser);
        m.put("iteris.engine.journal-password", journalPassword);
        if (journal != null) {
            m.put("iteris.engine.journal", journal);
        }
        if (store != null) {
            m.put("iteris.engine.store-dir", store.toAbsolutePath().toString());
        }
        if (workDir != null) {
            m.put("iteris.engine.work-dir", workDir.toAbsolutePath().toString());
        }
        IterisNode node = IterisNode.start(ConfigFactory.parseMap(m));
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "iteris-node-shutdown"));
        try {
            // the cluster retries the seed on its own; this bounds how long we let it
            node.awaitUp(Duration.ofSeconds(joinTimeout));
        } catch (IllegalStateException e) {
            node.close();
            throw new IllegalArgumentException("no seed node answered at " + seed + " within " + joinTimeout + " s; is it running?");
        }
        System.out.printf("iteris node up at %s:%d, roles %s, store %s%n", host, port, Arrays.toString(roles.toArray()), node.storeDir());
        node.system().getWhenTerminated().toCompletableFuture().get();
        return 0;
    }
}
