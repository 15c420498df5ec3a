package io.iteris.actors.node;

import com.typesafe.config.Config;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.actors.worker.InferenceWorker;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One iteris cluster node: an ActorSystem with the roles it was given (worker: inference workers;
 * solver: layer solvers; supervisor: merge supervisors), sharding for solvers and supervisors, and the
 * journal schema in place. Without seed nodes it forms a cluster of its own.
 */
public final class IterisNode implements AutoCloseable {
    private final ActorSystem<Void> system;
    private final EngineSettings settings;
    private final Path workDir;
    private final Path storeDir;

    private IterisNode(ActorSystem<Void> system, EngineSettings settings, Path workDir, Path storeDir) {
        this.system = system;
        this.settings = settings;
        this.workDir = workDir;
        this.storeDir = storeDir;
    }

    /** Starts a node from {@code overrides} layered over application.conf, iteris-cluster.conf and reference.conf ({@link NodeConfig}). */
    public static IterisNode start(Config overrides) {
        Config config = NodeConfig.resolve(overrides);
        EngineSettings settings = EngineSettings.from(config);
        Path workDir = Path.of(config.getString("iteris.engine.work-dir"));
        List<String> roles = config.getStringList("pekko.cluster.roles");
        if (roles.contains("worker")) {
            for (int i = 0; i < settings.workersPerNode(); i++) {
                settings.workerDevice().forWorker(i).check(); // a node asked for a GPU it cannot use fails now, with the reason
            }
        }
        ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(ctx -> {
            List<ActorRef<InferenceWorker.Command>> workers = new ArrayList<>();
            if (roles.contains("worker")) {
                for (int i = 0; i < settings.workersPerNode(); i++) {
                    workers.add(ctx.spawn(InferenceWorker.create(settings, settings.workerDevice().forWorker(i)), "inference-worker-" + i));
                }
            }
            ctx.spawn(NodeAgent.create(roles, List.copyOf(workers)), "node-agent");
            return Behaviors.empty();
        }), "iteris", config);
        try {
            createSchema(system, config);
            LayerSolver.initSharding(system, settings.faults());
            MergeSupervisor.initSharding(system, settings);
            if (config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
                Cluster.get(system).manager().tell(Join.create(Cluster.get(system).selfMember().address()));
            }
        } catch (RuntimeException e) {
            system.terminate();
            throw e;
        }
        String store = config.getString("iteris.engine.store-dir");
        return new IterisNode(system, settings, workDir, store.isEmpty() ? workDir.resolve("store") : Path.of(store).toAbsolutePath());
    }

    private static void createSchema(ActorSystem<?> system, Config config) {
        try {
            SchemaUtils.createIfNotExists(system).toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalArgumentException("the journal " + config.getString("pekko-persistence-jdbc.shared-databases.iteris.db.url")
                    + " cannot be reached or prepared: " + cause.getMessage(), e);
        }
    }

    public ActorSystem<Void> system() {
        return system;
    }

    public EngineSettings settings() {
        return settings;
    }

    /** Whether this node speaks mutual TLS with the others. */
    public boolean tls() {
        return NodeConfig.tls(system.settings().config());
    }

    public Path workDir() {
        return workDir;
    }

    /** The checkpoint store jobs submitted from this node use (shared by every node of a cluster). */
    public Path storeDir() {
        return storeDir;
    }

    /** Waits until this node is an Up member of its cluster, at most {@code iteris.engine.join-timeout}. */
    public void awaitUp() {
        awaitUp(settings.joinTimeout());
    }

    /** Waits until this node is an Up member of its cluster. */
    public void awaitUp(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (Cluster.get(system).selfMember().status() != MemberStatus.up()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("node " + system.address() + " did not join its cluster within " + timeout.toSeconds() + " s");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public void close() {
        system.terminate();
        try {
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // terminating anyway; nothing to add
        }
    }
}
