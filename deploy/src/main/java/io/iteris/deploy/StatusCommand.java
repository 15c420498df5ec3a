package io.iteris.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.ClusterNodes;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.client.JobStatus;
import io.iteris.actors.node.IterisNode;
import io.iteris.protocol.NodeDescription;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code iteris status [JOB]}: running and finished jobs from the journal — the cluster's (--journal) or the
 * one-node clusters' under the work dir — with the current iteration, work per node, and failures handled.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Jobs and where they stand (current iteration, work per node, failures and reassignments), read from the journal; "
                + "or, with --nodes, each node of a running cluster (--cluster).")
public final class StatusCommand implements Callable<Integer> {
    static final int MAX_LOCAL_JOBS = 20;

    @Parameters(index = "0", arity = "0..1", description = "a job id: its full account (default: one line per job)")
    String jobId;

    @Option(names = "--nodes", description = "describe each node of the --cluster: roles, live supervisors and solvers, cached jobs, memory")
    boolean nodes;

    @Option(names = "--json", description = "with --nodes: one JSON array of objects")
    boolean json;

    @Option(names = "--gc", description = "with --nodes: run a full GC on each node first (heap after GC)")
    boolean gc;

    @Option(names = "--cluster", paramLabel = "HOST:PORT[,HOST:PORT...]", description = "a running cluster's seed nodes (for --nodes)")
    String cluster;

    @Option(names = "--config", paramLabel = "FILE", description = "a HOCON file of settings (iteris.engine, pekko)")
    Path config;

    @Mixin
    ClusterOptions shared = new ClusterOptions();

    @Spec
    CommandSpec spec;

    private java.io.PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Override
    public Integer call() {
        try {
            return report();
        } finally {
            out().flush();
        }
    }

    private int report() {
        Instant now = Instant.now();
        if (nodes) {
            if (cluster == null) {
                throw new IllegalArgumentException("--nodes needs the cluster's seed nodes: --cluster HOST:PORT[,HOST:PORT...]");
            }
            try (IterisNode node = client(Map.of("pekko.cluster.seed-nodes", ClusterOptions.seeds(cluster)), readerDir())) {
                List<NodeDescription> all = ClusterNodes.describe(node.system(), gc, Duration.ofSeconds(30));
                out().print(json ? NodeTable.json(all) : NodeTable.text(all));
            }
            return 0;
        }
        if (shared.journal != null || file().hasPath("iteris.engine.journal") && !file().getString("iteris.engine.journal").isEmpty()) {
            try (IterisNode node = client(Map.of(), readerDir())) {
                List<String> ids = jobId != null ? List.of(jobId) : JobHistory.jobIds(node.system());
                if (ids.isEmpty()) {
                    out().println("no jobs in the journal");
                }
                for (String id : ids) {
                    print(JobStatus.of(id, JobHistory.events(node.system(), id)), now);
                }
            }
            return 0;
        }
        List<Path> jobs = jobId != null ? List.of(workDir().resolve(jobId)) : localJobs();
        if (jobs.isEmpty()) {
            out().println("no jobs under " + workDir() + " (a cluster's jobs: --journal URL)");
        }
        for (Path dir : jobs) {
            if (!Files.exists(dir.resolve("journal.mv.db"))) {
                throw new IllegalArgumentException("no job " + dir.getFileName() + " under " + workDir() + " (no journal in " + dir + ")");
            }
            try (IterisNode node = client(Map.of("iteris.engine.journal", ""), dir)) {
                // a directory is named after the job that made it; a command running several jobs keeps them all there
                List<String> ids = jobId != null ? List.of(jobId) : JobHistory.jobIds(node.system());
                for (String id : ids) {
                    print(JobStatus.of(id, JobHistory.events(node.system(), id)), now);
                }
            }
        }
        return 0;
    }

    private void print(JobStatus s, Instant now) {
        if (s.events() == 0) {
            throw new IllegalArgumentException("no events for job " + s.jobId() + " in this journal");
        }
        out().print(jobId != null ? s.describe(now) : s.summary(now) + "\n");
    }

    /** The most recent jobs' directories (those holding a journal), newest first. */
    private List<Path> localJobs() {
        if (!Files.isDirectory(workDir())) {
            return List.of();
        }
        try (var dirs = Files.list(workDir())) {
            List<Path> found = new ArrayList<>(dirs.filter(d -> Files.exists(d.resolve("journal.mv.db"))).toList());
            found.sort(Comparator.comparing(StatusCommand::modified).reversed());
            return found.subList(0, Math.min(MAX_LOCAL_JOBS, found.size()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + workDir(), e);
        }
    }

    private static long modified(Path dir) {
        try {
            return Files.getLastModifiedTime(dir.resolve("journal.mv.db")).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    private Config file() {
        return ClusterOptions.file(config);
    }

    private Path workDir() {
        return shared.workDir(file());
    }

    private Path readerDir() {
        return workDir().resolve("status-reader-" + ProcessHandle.current().pid());
    }

    /** A node of its own, with no roles: it never starts or resumes a job, only reads the journal or asks the nodes. */
    private IterisNode client(Map<String, Object> extra, Path dir) {
        Map<String, Object> m = shared.flags();
        m.putAll(extra);
        m.put("pekko.remote.artery.canonical.port", 0);
        m.put("iteris.engine.roles", List.of());
        m.put("iteris.engine.work-dir", dir.toAbsolutePath().toString());
        m.putIfAbsent("pekko.cluster.seed-nodes", List.of());
        IterisNode node = IterisNode.start(ConfigFactory.parseMap(m).withFallback(file()));
        try {
            node.awaitUp();
        } catch (RuntimeException e) {
            node.close();
            throw new IllegalArgumentException("cannot join the cluster at " + cluster + ": " + e.getMessage(), e);
        }
        return node;
    }
}
