package io.iteris.actors.supervisor;

import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.cluster.JobCache;
import io.iteris.core.engine.IterationReport;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.Merger;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.store.CheckpointStore;
import io.iteris.protocol.DoubleList;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.PublishFinished;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Turns a finished job's history into what the single-process engine would have returned, and publishes
 * it: the same {@link MergeOutcome}, the same files.
 */
public final class JobFinisher {
    private JobFinisher() {
    }

    /**
     * {@link #publish} on the node's blocking dispatcher; completes (never exceptionally) with how it went.
     */
    static CompletionStage<PublishFinished> publishAsync(SupervisorState s, String jobId, EngineSettings settings, ActorSystem<?> system) {
        Executor blocking = system.dispatchers().lookup(DispatcherSelector.fromConfig("iteris.blocking-dispatcher"));
        JobCache cache = JobCache.get(system);
        return CompletableFuture.runAsync(() -> publish(s, jobId, settings, cache), blocking)
                .handle((ok, e) -> PublishFinished.newBuilder().setOk(e == null)
                        .setError(e == null ? "" : ErrorRecorder.describe(e.getCause() != null ? e.getCause() : e))
                        .setAtMillis(System.currentTimeMillis()).build());
    }

    /**
     * Publishes a finished job's output under its id, so that a supervisor recovering after the rename finds
     * its own output complete and does not write it again. Blocking: the supervisor runs it off the actor.
     */
    public static Merger.Result publish(SupervisorState s, String jobId, EngineSettings settings, JobCache cache) {
        Merger.Result r;
        try (JobCache.Lease lease = cache.inputs(s.spec())) {
            r = Merger.publish(lease.job(), outcome(s, null), 0, jobId);
        }
        settings.faults().afterPublish();
        return r;
    }

    /**
     * The outcome recorded in the history: every completed iteration with its per-layer diagnostics and,
     * for the last (and for every iteration when {@code sink} is given), the deltas from the store.
     */
    public static MergeOutcome outcome(SupervisorState s, MergeEngine.Listener sink) {
        CheckpointStore store = new CheckpointStore(Path.of(s.spec().getStorePath()));
        List<IterationReport> reports = new ArrayList<>();
        List<IterationCompleted> done = s.completedIterations();
        Map<String, INDArray> deltas = null;
        Map<String, LayerMergeResult> results = null;
        for (int k = 0; k < done.size(); k++) {
            IterationCompleted c = done.get(k);
            boolean last = k == done.size() - 1;
            Map<String, LayerSolved> solved = s.history().get(c.getIteration());
            results = new LinkedHashMap<>();
            deltas = new LinkedHashMap<>();
            Map<String, Double> change = new LinkedHashMap<>();
            long solveNanos = 0;
            for (String layer : s.spec().getLayersList()) {
                LayerSolved r = solved.get(layer);
                INDArray delta = last || sink != null ? store.get(r.getContentHash()) : null;
                deltas.put(layer, delta);
                LayerMergeResult.Factors factors = delta != null && !r.getFactorBHash().isEmpty()
                        ? new LayerMergeResult.Factors(store.get(r.getFactorBHash()), store.get(r.getFactorAHash())) : null;
                results.put(layer, new LayerMergeResult(delta, diagnostics(r), r.getSolver(), factors));
                if (r.getHasChange()) {
                    change.put(layer, r.getRelativeChange());
                }
                solveNanos += r.getSolveNanos();
            }
            IterationReport report = new IterationReport(c.getIteration(), results, change, s.inferenceNanos(c.getIteration()), solveNanos,
                    Math.max(0, c.getAtMillis() - s.startedAt(c.getIteration())) * 1_000_000L);
            reports.add(report);
            if (sink != null) {
                sink.onIteration(report, deltas);
            }
        }
        long total = done.isEmpty() ? 0 : (done.get(done.size() - 1).getAtMillis() - s.acceptedAt()) * 1_000_000L;
        return new MergeOutcome(deltas, results, reports, total);
    }

    private static Map<String, double[]> diagnostics(LayerSolved r) {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, DoubleList> e : r.getDiagnosticsMap().entrySet()) {
            out.put(e.getKey(), e.getValue().getValuesList().stream().mapToDouble(Double::doubleValue).toArray());
        }
        return out;
    }
}
