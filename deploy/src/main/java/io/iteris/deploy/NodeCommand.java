package io.iteris.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import io.iteris.actors.node.IterisNode;
import io.iteris.actors.node.NodeConfig;
import io.iteris.deploy.console.Console;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code iteris node}: one cluster node, running until it is stopped. */
@Command(name = "node", mixinStandardHelpOptions = true, description = {
        "Start a node that joins (or seeds) an iteris cluster.",
        "Flags override --config FILE, which overrides -D properties, application.conf (or -Dconfig.file) and the defaults."})
public final class NodeCommand implements Callable<Integer> {
    @Option(names = "--seed", required = true, paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "seed nodes, the same list on every node; a node that is the first seed forms the cluster only when no other seed answers")
    String seed;

    @Option(names = "--host", description = "address this node binds and announces (pekko.remote.artery.canonical.hostname; default 127.0.0.1)")
    String host;

    @Option(names = "--port", description = "this node's port (pekko.remote.artery.canonical.port; default 25520)")
    Integer port;

    @Option(names = "--roles", split = ",", description = "worker, solver, supervisor (iteris.engine.roles; default all three)")
    List<String> roles;

    @Option(names = "--workers", description = "inference workers with the worker role (iteris.engine.workers-per-node; default auto:"
            + " one per GPU with --device cuda, else 2)")
    Integer workers;

    @Option(names = "--device", paramLabel = "cpu|cuda[:N]",
            description = "where the workers run ONNX models (iteris.engine.worker.device); cuda needs the GPU build (./mvnw -Pgpu)")
    String device;

    @Option(names = "--gram", paramLabel = "auto|device|host",
            description = "where the workers multiply an ONNX model's Gram statistics: in the ONNX Runtime session on their device, or"
                    + " in the JVM (iteris.engine.worker.gram; default auto: device on CUDA, host on the CPU)")
    String gram;

    @Option(names = "--join-timeout", converter = HoconDuration.class,
            description = "how long to wait for the seed nodes before giving up, e.g. 90s; a number alone is seconds (iteris.engine.join-timeout)")
    Duration joinTimeout;

    /** Durations as in the config files (90s, 2m, 500ms); a number alone is seconds. */
    static final class HoconDuration implements picocli.CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            if (value.matches("\\d+")) {
                return Duration.ofSeconds(Long.parseLong(value));
            }
            try {
                return ConfigFactory.parseString("d = \"" + value + "\"").getDuration("d");
            } catch (com.typesafe.config.ConfigException e) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a duration (e.g. 90s, 2m)");
            }
        }
    }

    @Option(names = "--http-port", paramLabel = "P",
            description = "serve the web console, its JSON API and /metrics on port P (iteris.engine.http.port; default 0: off):"
                    + " on 127.0.0.1 without TLS, over HTTPS on the node's host with --tls")
    Integer httpPort;

    @Option(names = "--http-token-file", paramLabel = "FILE",
            description = "the bearer token the console asks for over HTTPS, in a file (iteris.engine.http.token-file)")
    Path httpTokenFile;

    @Option(names = "--insecure", description = "allow plain TCP on a non-loopback address (iteris.engine.insecure): anyone who reaches the port can join")
    boolean insecure;

    @Option(names = "--config", paramLabel = "FILE", description = "a HOCON file of settings (iteris.engine, pekko)")
    Path config;

    @Option(names = "--print-config", description = "print the node's iteris.engine settings as they resolve, secrets hidden, and exit")
    boolean printConfig;

    @Mixin
    ClusterOptions shared = new ClusterOptions();

    @Override
    public Integer call() throws Exception {
        Config overrides = overrides();
        if (printConfig) {
            System.out.println(printable(NodeConfig.layered(overrides)));
            return 0;
        }
        IterisNode node = IterisNode.start(overrides);
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "iteris-node-shutdown"));
        Duration timeout = node.settings().joinTimeout();
        try {
            // the cluster retries the seeds on its own; this bounds how long we let it
            node.awaitUp(timeout);
        } catch (IllegalStateException e) {
            node.close();
            throw new IllegalArgumentException("no seed node let this node join within " + timeout.toSeconds() + " s (seeds " + seed
                    + (node.tls() ? "; is this node's certificate signed by the cluster's CA?" : "; is the cluster up, and does it need --tls?") + ")");
        }
        Config c = node.system().settings().config();
        Console console;
        try {
            console = Console.startIfEnabled(node);
        } catch (IllegalArgumentException e) {
            node.close();
            throw e;
        }
        System.out.printf("iteris node up at %s, roles %s, %s, store %s%n", node.system().address(), c.getStringList("pekko.cluster.roles"),
                node.tls() ? "mutual TLS" : "plain TCP", node.storeDir());
        if (console != null) {
            System.out.printf("console at %s%n", console.url());
        }
        node.system().getWhenTerminated().toCompletableFuture().get();
        return 0;
    }

    /** The flags that were given (only those), over the --config file. */
    Config overrides() {
        if (roles != null) {
            for (String r : roles) {
                if (!List.of("worker", "solver", "supervisor").contains(r)) {
                    throw new IllegalArgumentException("unknown role '" + r + "'; roles are worker, solver, supervisor");
                }
            }
        }
        Map<String, Object> m = shared.flags();
        m.put("pekko.cluster.seed-nodes", ClusterOptions.seeds(seed));
        ClusterOptions.putIfGiven(m, "pekko.remote.artery.canonical.hostname", host);
        ClusterOptions.putIfGiven(m, "pekko.remote.artery.canonical.port", port);
        ClusterOptions.putIfGiven(m, "iteris.engine.roles", roles);
        ClusterOptions.putIfGiven(m, "iteris.engine.workers-per-node", workers);
        ClusterOptions.putIfGiven(m, "iteris.engine.worker.device", device);
        ClusterOptions.putIfGiven(m, "iteris.engine.worker.gram", gram);
        ClusterOptions.putIfGiven(m, "iteris.engine.http.port", httpPort);
        ClusterOptions.putIfGiven(m, "iteris.engine.http.token-file", httpTokenFile == null ? null : httpTokenFile.toAbsolutePath().toString());
        ClusterOptions.putIfGiven(m, "iteris.engine.join-timeout", joinTimeout == null ? null : joinTimeout.toMillis() + "ms");
        if (insecure) {
            m.put("iteris.engine.insecure", true);
        }
        return ConfigFactory.parseMap(m, "command line").withFallback(ClusterOptions.file(config));
    }

    /** iteris.engine and the node's address as HOCON, every password replaced. */
    static String printable(Config layered) {
        Config c = layered.getConfig("iteris.engine").atPath("iteris.engine")
                .withFallback(layered.getConfig("pekko.remote.artery.canonical").atPath("pekko.remote.artery.canonical"))
                .withFallback(ConfigFactory.parseMap(Map.of("pekko.cluster.seed-nodes", layered.getStringList("pekko.cluster.seed-nodes"))));
        if (!c.getString("iteris.engine.journal-password").isEmpty()) {
            c = c.withValue("iteris.engine.journal-password", com.typesafe.config.ConfigValueFactory.fromAnyRef("<hidden>"));
        }
        return c.root().render(ConfigRenderOptions.defaults().setOriginComments(false).setComments(false).setJson(false));
    }
}
