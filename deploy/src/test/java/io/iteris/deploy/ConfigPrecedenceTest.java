package io.iteris.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.NodeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A flag the user did not give never overrides the same setting from --config, -Dconfig.file or application.conf;
 * a flag given always does. Checked with the shipped deploy/conf/cluster.conf (journal-user = iteris,
 * workers-per-node = 1).
 */
class ConfigPrecedenceTest {
    static final Path CLUSTER_CONF = Path.of("..", "deploy", "conf", "cluster.conf").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private static Config node(String... args) {
        NodeCommand cmd = new NodeCommand();
        new CommandLine(cmd).parseArgs(args);
        return NodeConfig.layered(cmd.overrides());
    }

    @Test
    void settingsOfAConfigFileHoldUnlessAFlagIsGiven() {
        Config c = node("--seed", "10.0.0.1:25520", "--config", CLUSTER_CONF.toString());
        assertEquals("iteris", c.getString("iteris.engine.journal-user"));
        assertEquals(1, c.getInt("iteris.engine.workers-per-node"));
        assertEquals("/shared/iteris-store", c.getString("iteris.engine.store-dir"));
        assertEquals("keep-majority", c.getString("pekko.cluster.split-brain-resolver.active-strategy"));

        assertEquals(8558, c.getInt("iteris.engine.http.port"));
        assertEquals("/etc/iteris/console-token", c.getString("iteris.engine.http.token-file"));

        Config flagged = node("--seed", "10.0.0.1:25520", "--config", CLUSTER_CONF.toString(), "--workers", "3", "--journal-user", "bob",
                "--http-port", "9000");
        assertEquals("bob", flagged.getString("iteris.engine.journal-user"));
        assertEquals(3, flagged.getInt("iteris.engine.workers-per-node"));
        assertEquals(9000, flagged.getInt("iteris.engine.http.port"));
        assertEquals("/etc/iteris/console-token", flagged.getString("iteris.engine.http.token-file"), "a flag not given");

        Config defaults = node("--seed", "127.0.0.1:25520");
        assertEquals("", defaults.getString("iteris.engine.journal-user"));
        assertEquals("auto", defaults.getString("iteris.engine.workers-per-node"));
        NodeCommand cmd = new NodeCommand();
        new CommandLine(cmd).parseArgs("--seed", "127.0.0.1:25520");
        assertEquals(2, io.iteris.actors.cluster.EngineSettings.from(NodeConfig.resolve(cmd.overrides())).workersPerNode(), "auto on the CPU");
        new CommandLine(cmd).parseArgs("--seed", "127.0.0.1:25520", "--roles", "solver");
        assertEquals(0, io.iteris.actors.cluster.EngineSettings.from(NodeConfig.resolve(cmd.overrides())).workersPerNode(), "no worker role");
        for (String bad : new String[]{"many", "-1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> io.iteris.actors.cluster.EngineSettings.from(NodeConfig.resolve(ConfigFactory.parseMap(
                            java.util.Map.of("iteris.engine.workers-per-node", bad)))));
            assertTrue(e.getMessage().contains("iteris.engine.workers-per-node") && e.getMessage().contains(bad.replace("-", "")), e.getMessage());
        }
        assertEquals(0, defaults.getInt("iteris.engine.http.port"), "the console is off by default");
    }

    @Test
    void settingsOfConfigFileSystemPropertyHoldUnlessAFlagIsGiven() {
        String before = System.getProperty("config.file");
        System.setProperty("config.file", CLUSTER_CONF.toString());
        ConfigFactory.invalidateCaches();
        try {
            Config c = node("--seed", "10.0.0.1:25520");
            assertEquals("iteris", c.getString("iteris.engine.journal-user"));
            assertEquals(1, c.getInt("iteris.engine.workers-per-node"));
            assertEquals(4, node("--seed", "10.0.0.1:25520", "--workers", "4").getInt("iteris.engine.workers-per-node"));
        } finally {
            if (before == null) {
                System.clearProperty("config.file");
            } else {
                System.setProperty("config.file", before);
            }
            ConfigFactory.invalidateCaches();
        }
    }

    @Test
    void printConfigShowsTheResolvedSettingsWithoutSecrets() throws Exception {
        Path conf = Files.writeString(tmp.resolve("node.conf"), "iteris.engine { workers-per-node = 5, journal-password = \"s3cret-in-a-file\" }\n");
        StringWriter out = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        java.io.ByteArrayOutputStream stdout = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        System.setOut(new java.io.PrintStream(stdout, true));
        try {
            assertEquals(0, cl.execute("node", "--seed", "127.0.0.1:1", "--config", conf.toString(), "--print-config"));
        } finally {
            System.setOut(old);
        }
        String printed = stdout.toString();
        assertTrue(printed.contains("workers-per-node=5"), printed);
        assertFalse(printed.contains("s3cret-in-a-file"), printed);
    }

    @Test
    void aNodeRefusesPlainTcpOffLoopbackUnlessInsecureAndNamesWhatIsMissingForTls() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NodeConfig.resolve(node("--seed", "10.0.0.1:25520", "--host", "10.0.0.1")));
        assertTrue(e.getMessage().contains("without TLS") && e.getMessage().contains("--insecure"), e.getMessage());
        Config insecure = NodeConfig.resolve(node("--seed", "10.0.0.1:25520", "--host", "10.0.0.1", "--insecure"));
        assertEquals("tcp", insecure.getString("pekko.remote.artery.transport"));

        Path tls = Files.createDirectories(tmp.resolve("tls"));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> NodeConfig.resolve(node("--seed", "10.0.0.1:25520", "--host", "10.0.0.1", "--tls", tls.toString())));
        assertTrue(missing.getMessage().contains("keystore.p12") && missing.getMessage().contains("certs.sh"), missing.getMessage());

        Path pw = Files.writeString(tmp.resolve("journal-password"), "from-a-file\n");
        Config withFile = NodeConfig.resolve(node("--seed", "127.0.0.1:25520", "--journal-password-file", pw.toString()));
        assertEquals("from-a-file", withFile.getString("pekko-persistence-jdbc.shared-databases.iteris.db.password"));
    }

    @Test
    void thereIsNoPasswordFlag() {
        CommandLine cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        assertEquals(2, cl.execute("node", "--seed", "127.0.0.1:1", "--journal-password", "x"));
        assertTrue(err.toString().contains("Unknown option") && err.toString().contains("--journal-password"), err.toString());
    }
}
