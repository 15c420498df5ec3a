package io.iteris.actors.client;

import io.iteris.actors.node.IterisNode;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.supervisor.JobFinisher;
import io.iteris.actors.supervisor.SupervisorState;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.MergeReport;
import io.iteris.core.engine.Merger;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.JobSpec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The actor engine as a {@link MergeEngine}: submits the merge to the cluster {@code node} belongs to,
 * follows it, and rebuilds its outcome from the journal and the checkpoint store. The supervisor publishes
 * the output directory itself, so the job completes even if this client goes away.
 */
public final class ActorEngine implements MergeEngine {
    private final IterisNode node;
    private final Consumer<JobProgress> progress;
    private final Duration timeout;

    public ActorEngine(IterisNode node, Consumer<JobProgress> progress, Duration timeout) {
        this.node = node;
        this.progress = progress;
        this.timeout = timeout;
    }

    public ActorEngine(IterisNode node) {
        this(node, p -> { }, JobHistory.defaultTimeout());
    }

    @Override
    public MergeOutcome merge(MergeSettings settings, Listener listener) {
        return submit(Merger.loadForSubmission(settings, true), newJobId(), listener).outcome();
    }

    public static String newJobId() {
        return UUID.randomUUID().toString();
    }

    /** Runs a loaded (checked) job under {@code jobId}; fails with the supervisor's reason if the job fails. */
    public Merger.Result submit(Merger.LoadedJob job, String jobId, Listener listener) {
        JobSpec spec = JobSpecs.of(jobId, job, node.storeDir());
        JobProgress last = JobClient.run(node.system(), spec, progress, timeout);
        if (last.getFailed()) {
            throw new IllegalStateException("merge job " + jobId + " failed: " + last.getMessage());
        }
        SupervisorState history = JobHistory.replay(node.system(), jobId);
        MergeOutcome outcome = JobFinisher.outcome(history, listener);
        Path out = job.settings().out();
        return new Merger.Result(out, job.method(), job.inputs(), outcome, MergeReport.energyKept(out.resolve(Merger.REPORT_FILE)));
    }
}
