package io.iteris.deploy;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.client.JobStatus;
import io.iteris.actors.cluster.IterisNode;
import picocli.CommandLine.Command;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code iteris status [JOB]}: running and finished jobs from the journal — the cluster's (--journal) or the
 * one-node clusters' under the work dir — with the current iteration, work per node, and failures handled.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Jobs and where they stand (current iteration, work per node, failures and reassignments), read from the journal.")
public final class StatusCommand implements Callable<Integer> {
    static final int MAX_LOCAL_JOBS = 20;

    @Parameters(index = "0", arity = "0..1", description = "a job id: its full account (default: one line per job)")
    String jobId;

    @Option(names = "--journal", paramLabel = "JDBC-URL", description = "a cluster's journal (default: the jobs run on this machine under the work dir)")
    String journal;

    @Option(names = "--journal-user", defaultValue = "", description = "journal database user")
    String journalUser;

    @Option(names = "--journal-password", defaultValue = "", description = "journal database password")
    String journalPassword;

    @Option(names = "--work-dir", description = "where this machine's jobs keep their journals (default: iteris.engine.work-dir)")
    Path workDir;

    @Spec
    CommandSpec spec;

    private java.io.PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Override
    public Integer call() {
        Instant now = Instant.now();
        if (journal != null) {
            try (IterisNode node = reader(journal, workDir().resolve("status-reader-" + ProcessHandle.current().pid()))) {
                List<String> ids = jobId != null ? List.of(jobId) : JobHistory.jobIds(node.system());
                if (ids.isEmpty()) {
                    out().println("no jobs in " + journal);
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
            try (IterisNode node = reader("", dir)) {
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

    private Path workDir() {
        return workDir != null ? workDir : Path.of(ConfigFactory.load().getString("iteris.engine.work-dir"));
    }

    /** A node of its own, with no roles, that only reads the journal: it never starts or resumes a job. */
    private IterisNode reader(String url, Path dir) {
        Map<String, Object> m = new HashMap<>();
        m.put("pekko.remote.artery.canonical.port", 0);
        m.put("iteris.engine.roles", List.of());
        m.put("iteris.engine.journal", url);
        m.put("iteris.engine.journal-user", journalUser);
        m.put("iteris.engine.journal-password", journalPassword);
        m.put("iteris.engine.work-dir", dir.toAbsolutePath().toString());
        IterisNode node = IterisNode.start(ConfigFactory.parseMap(m));
        node.awaitUp(Duration.ofSeconds(60));
        return node;
    }
}
