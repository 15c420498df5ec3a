package io.iteris.actors.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.actors.worker.InferenceWorker;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;

import java.nio.file.Path;
import java.time.Duration;
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

    /** Starts a node from {@code overrides} layered over application.conf, iteris-cluster.conf and reference.conf. */
    public static IterisNode start(Config overrides) {
        Config config = resolve(overrides);
        EngineSettings settings = EngineSettings.from(config);
        Path workDir = Path.of(config.getString("iteris.engine.work-dir"));
        List<String> roles = config.getStringList("pekko.cluster.roles");
        ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(ctx -> {
            if (roles.contains("worker")) {
                for (int i = 0; i < settings.workersPerNode(); i++) {
                    ctx.spawn(InferenceWorker.create(settings), "inference-worker-" + i,
                            DispatcherSelector.fromConfig("iteris.compute-dispatcher"));
                }
            }
            return Behaviors.empty();
        }), "iteris", config);
        try {
            createSchema(system, config);
            LayerSolver.initSharding(system);
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

    /** The node's full configuration: journal database, roles and work directory filled in. */
    static Config resolve(Config overrides) {
        Config c = overrides.withFallback(ConfigFactory.defaultOverrides())
                .withFallback(ConfigFactory.defaultApplication())
                .withFallback(ConfigFactory.parseResources(IterisNode.class.getClassLoader(), "iteris-cluster.conf"))
                .withFallback(ConfigFactory.defaultReference())
                .resolve();
        Path workDir = Path.of(c.getString("iteris.engine.work-dir")).toAbsolutePath();
        String url = c.getString("iteris.engine.journal");
        if (url.isEmpty()) {
            url = "jdbc:h2:file:" + workDir.resolve("journal") + ";DB_CLOSE_DELAY=-1";
        }
        String prefix = "pekko-persistence-jdbc.shared-databases.iteris.";
        Config db;
        if (url.startsWith("jdbc:h2:")) {
            db = ConfigFactory.empty().withValue(prefix + "profile", ConfigValueFactory.fromAnyRef("slick.jdbc.H2Profile$"))
                    .withValue(prefix + "db.driver", ConfigValueFactory.fromAnyRef("org.h2.Driver"));
        } else if (url.startsWith("jdbc:postgresql:")) {
            db = ConfigFactory.empty().withValue(prefix + "profile", ConfigValueFactory.fromAnyRef("slick.jdbc.PostgresProfile$"))
                    .withValue(prefix + "db.driver", ConfigValueFactory.fromAnyRef("org.postgresql.Driver"));
        } else {
            throw new IllegalArgumentException("iteris.engine.journal must be a jdbc:h2: or jdbc:postgresql: URL, got " + url);
        }
        db = db.withValue(prefix + "db.url", ConfigValueFactory.fromAnyRef(url))
                .withValue(prefix + "db.user", ConfigValueFactory.fromAnyRef(c.getString("iteris.engine.journal-user")))
                .withValue(prefix + "db.password", ConfigValueFactory.fromAnyRef(c.getString("iteris.engine.journal-password")))
                .withValue("iteris.engine.work-dir", ConfigValueFactory.fromAnyRef(workDir.toString()))
                .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(c.getStringList("iteris.engine.roles")));
        return db.withFallback(c).resolve();
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

    public Path workDir() {
        return workDir;
    }

    /** The checkpoint store jobs submitted from this node use (shared by every node of a cluster). */
    public Path storeDir() {
        return storeDir;
    }

    /** Waits until this node is an Up member of its cluster. */
    public void awaitUp(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (Cluster.get(system).selfMember().status() != MemberStatus.up()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("node " + system.address() + " did not join its cluster within " + timeout);
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
