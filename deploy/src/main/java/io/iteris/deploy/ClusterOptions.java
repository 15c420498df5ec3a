package io.iteris.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import io.iteris.actors.node.NodeConfig;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How a command reaches a cluster's shared state: its journal, checkpoint store and TLS identity. Every option
 * maps onto an {@code iteris.engine} setting and only when given, so a setting from --config, -Dconfig.file or
 * application.conf is never overridden by a flag the user did not type. No secret is taken on the command line.
 */
class ClusterOptions {
    @Option(names = "--journal", paramLabel = "JDBC-URL", description = "the cluster's journal (iteris.engine.journal); default: an H2 file in the work dir")
    String journal;

    @Option(names = "--journal-user", description = "journal database user (iteris.engine.journal-user)")
    String journalUser;

    @Option(names = "--journal-password-file", paramLabel = "FILE",
            description = "file holding the journal password (iteris.engine.journal-password-file; or set ITERIS_JOURNAL_PASSWORD)")
    Path journalPasswordFile;

    @Option(names = "--store", description = "checkpoint store directory, shared by every node (iteris.engine.store-dir)")
    Path store;

    @Option(names = "--work-dir", description = "where jobs keep their journal and checkpoints (iteris.engine.work-dir)")
    Path workDir;

    @Option(names = "--tls", paramLabel = "DIR", description = "this node's TLS directory from deploy/certs.sh (iteris.engine.tls.dir)")
    Path tls;

    /** The settings the given flags stand for (and only those). */
    Map<String, Object> flags() {
        Map<String, Object> m = new HashMap<>();
        putIfGiven(m, "iteris.engine.journal", journal);
        putIfGiven(m, "iteris.engine.journal-user", journalUser);
        putIfGiven(m, "iteris.engine.journal-password-file", journalPasswordFile);
        putIfGiven(m, "iteris.engine.store-dir", store);
        putIfGiven(m, "iteris.engine.work-dir", workDir);
        putIfGiven(m, "iteris.engine.tls.dir", tls);
        return m;
    }

    static void putIfGiven(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value instanceof Path p ? p.toAbsolutePath().normalize().toString() : value);
        }
    }

    /** The work directory: the flag, else the setting as the layered configuration has it. */
    Path workDir(Config file) {
        return workDir != null ? workDir : Path.of(NodeConfig.layered(file).getString("iteris.engine.work-dir"));
    }

    /** A HOCON file given with --config (empty when none). */
    static Config file(Path config) {
        if (config == null) {
            return ConfigFactory.empty();
        }
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException(config + ": no such config file");
        }
        return ConfigFactory.parseFile(config.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    }

    /** {@code HOST:PORT[,HOST:PORT...]} as Pekko seed-node addresses. */
    static List<String> seeds(String list) {
        List<String> out = new ArrayList<>();
        for (String hostPort : list.split(",")) {
            String h = hostPort.strip();
            if (!h.matches("[^:,\\s]+:\\d{1,5}")) {
                throw new IllegalArgumentException("a seed node is HOST:PORT (several: comma-separated), got '" + h + "'");
            }
            out.add("pekko://iteris@" + h);
        }
        return out;
    }
}
