package io.iteris.actors.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.Set;

/**
 * A node's whole configuration, in one order of precedence: {@code overrides} (the command line's flags, then
 * its --config file) over system properties, application.conf (or -Dconfig.file), iteris-cluster.conf and every
 * library's reference.conf. Then the derived settings are filled in: the journal database (its password from
 * the environment or a file, never a command line), mutual TLS from a certs.sh directory, the roles and the work
 * directory; and a node that would listen on a non-loopback address in plain TCP is refused unless insecure.
 */
public final class NodeConfig {
    static final String DB = "pekko-persistence-jdbc.shared-databases.iteris.";
    static final String SSL = "pekko.remote.artery.ssl.config-ssl-engine.";

    private NodeConfig() {
    }

    /** The layered configuration before anything is derived: what {@code --print-config} shows. */
    public static Config layered(Config overrides) {
        return overrides.withFallback(ConfigFactory.defaultOverrides())
                .withFallback(ConfigFactory.defaultApplication())
                .withFallback(ConfigFactory.parseResources(NodeConfig.class.getClassLoader(), "iteris-cluster.conf"))
                .withFallback(ConfigFactory.defaultReference())
                .resolve();
    }

    /** The configuration a node starts with. */
    public static Config resolve(Config overrides) {
        Config c = layered(overrides);
        Path workDir = Path.of(c.getString("iteris.engine.work-dir")).toAbsolutePath();
        String url = c.getString("iteris.engine.journal");
        if (url.isEmpty()) {
            url = "jdbc:h2:file:" + workDir.resolve("journal") + ";DB_CLOSE_DELAY=-1";
        }
        Config db;
        if (url.startsWith("jdbc:h2:")) {
            db = ConfigFactory.parseMap(Map.of(DB + "profile", "slick.jdbc.H2Profile$", DB + "db.driver", "org.h2.Driver"));
        } else if (url.startsWith("jdbc:postgresql:")) {
            db = ConfigFactory.parseMap(Map.of(DB + "profile", "slick.jdbc.PostgresProfile$", DB + "db.driver", "org.postgresql.Driver"));
        } else {
            throw new IllegalArgumentException("iteris.engine.journal must be a jdbc:h2: or jdbc:postgresql: URL, got " + url);
        }
        Config derived = db.withValue(DB + "db.url", ConfigValueFactory.fromAnyRef(url))
                .withValue(DB + "db.user", ConfigValueFactory.fromAnyRef(c.getString("iteris.engine.journal-user")))
                .withValue(DB + "db.password", ConfigValueFactory.fromAnyRef(journalPassword(c)))
                .withValue("iteris.engine.work-dir", ConfigValueFactory.fromAnyRef(workDir.toString()))
                .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(c.getStringList("iteris.engine.roles")));
        String tls = c.getString("iteris.engine.tls.dir");
        if (!tls.isEmpty()) {
            derived = tls(Path.of(tls)).withFallback(derived);
        } else {
            checkPlainTcpAllowed(c);
        }
        return derived.withFallback(c).resolve();
    }

    /** Whether the node speaks TLS. */
    public static boolean tls(Config resolved) {
        return resolved.getString("pekko.remote.artery.transport").equals("tls-tcp");
    }

    private static String journalPassword(Config c) {
        String file = c.getString("iteris.engine.journal-password-file");
        return file.isEmpty() ? c.getString("iteris.engine.journal-password") : secret(Path.of(file), "iteris.engine.journal-password-file");
    }

    /** Artery over TLS with mutual authentication, from a directory made by deploy/certs.sh. */
    static Config tls(Path dir) {
        Path keyStore = dir.resolve("keystore.p12");
        Path trustStore = dir.resolve("truststore.p12");
        for (Path p : new Path[]{keyStore, trustStore}) {
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException("TLS directory " + dir + " has no readable " + p.getFileName()
                        + " (make one with deploy/certs.sh DIR NAME, then --tls DIR/NAME)");
            }
        }
        String password = secret(dir.resolve("password"), "the TLS directory's password file");
        return ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.transport", "tls-tcp",
                "pekko.remote.artery.ssl.ssl-engine-provider", "org.apache.pekko.remote.artery.tcp.ConfigSSLEngineProvider",
                SSL + "key-store", keyStore.toAbsolutePath().toString(),
                SSL + "trust-store", trustStore.toAbsolutePath().toString(),
                SSL + "key-store-password", password,
                SSL + "key-password", password,
                SSL + "trust-store-password", password,
                SSL + "require-mutual-authentication", "on",
                // nodes are found by address, not host name: the CA alone decides who belongs to the cluster
                SSL + "hostname-verification", "off"));
    }

    /** A secret read from a file (its first line), which must exist and should not be readable by others. */
    public static String secret(Path file, String what) {
        try {
            String s = Files.readString(file).lines().findFirst().orElse("").strip();
            if (s.isEmpty()) {
                throw new IllegalArgumentException(what + " " + file + " is empty");
            }
            if (file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
                if (perms.contains(PosixFilePermission.OTHERS_READ)) {
                    org.slf4j.LoggerFactory.getLogger(NodeConfig.class).warn("{} {} is readable by every user; chmod 600 it", what, file);
                }
            }
            return s;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + what + " " + file + ": " + e.getMessage(), e);
        }
    }

    /** Plain TCP only on loopback, unless the operator said insecure. */
    private static void checkPlainTcpAllowed(Config c) {
        String canonical = c.getString("pekko.remote.artery.canonical.hostname");
        String bind = c.getString("pekko.remote.artery.bind.hostname");
        for (String host : new String[]{canonical, bind}) {
            if (!host.isEmpty() && !loopback(host)) {
                if (!c.getBoolean("iteris.engine.insecure")) {
                    throw new IllegalArgumentException("refusing to listen on " + host + " without TLS: anyone who reaches the port"
                            + " could join the cluster and submit jobs. Give --tls DIR (deploy/certs.sh makes one), or --insecure"
                            + " on a network you trust");
                }
                org.slf4j.LoggerFactory.getLogger(NodeConfig.class).warn("INSECURE: listening on {} in plain TCP: any host that"
                        + " reaches this port can join the cluster and submit jobs", host);
                return;
            }
        }
    }

    static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
