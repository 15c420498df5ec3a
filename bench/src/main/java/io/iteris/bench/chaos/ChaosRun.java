package io.iteris.bench.chaos;

import com.google.protobuf.Message;
import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.supervisor.SupervisorState;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.bench.cluster.NodeProcess;
import io.iteris.bench.cluster.ProcessCluster;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One chaos run: a fresh three-node cluster merges the job, something is broken at a kill point drawn from
 * the seed, and the run checks that the job completes with the reference result, and what the journal says.
 */
public final class ChaosRun {
    /** What one run found. */
    public record Outcome(ChaosScenario scenario, long seed, boolean completed, boolean identical, boolean journalConsistent,
                          List<String> recorded, double seconds, double recoverySeconds, String failure) {
        public boolean passed() {
            return completed && identical && journalConsistent && failure == null;
        }
    }

    static final long TIMEOUT_MS = 240_000;

    private ChaosRun() {
    }

    /**
     * @param job       the loaded job (its output directory is replaced on each run)
     * @param reference the deltas of a clean run, bit for bit the expected result
     * @param tls       the clusters' certificates, made by the first run and reused by the next
     */
    public static Outcome run(ChaosScenario scenario, long seed, Merger.LoadedJob job, Map<String, INDArray> reference,
                              byte[] referenceAdapter, Path dir, Path tls, PrintStream log) {
        long t0 = System.nanoTime();
        Random rng = new Random(seed);
        int iterations = job.solves();
        int units = job.samples().size() * (int) Math.ceil(job.samples().get(0).size(0) / (double) Math.max(1, job.settings().shardSize()));
        int killIteration = 1 + rng.nextInt(Math.max(1, iterations - 2));
        int killAfterUnits = 1 + rng.nextInt(Math.max(1, units - 1));
        log.printf("  %s seed %d: break at iteration %d after %d of %d units%n", scenario, seed, killIteration + 1, killAfterUnits, units);
        String jobId = "chaos-" + scenario.name().toLowerCase() + "-" + seed;
        double recovery = Double.NaN;
        try (ProcessCluster cluster = new ProcessCluster(dir, tls)) {
            if (scenario == ChaosScenario.CRASH_AFTER_PUBLISH) {
                Path armed = Files.writeString(dir.resolve("halt-after-publish"), "armed\n");
                cluster.withNodeJvmOptions("-Diteris.engine.fault-injection.halt-after-publish=" + armed);
                killIteration = iterations - 1;
                killAfterUnits = 0;
            }
            cluster.start(3);
            log.printf(Locale.ROOT, "    cluster up at %.1f s%n", (System.nanoTime() - t0) / 1e9);
            CompletableFuture<Merger.Result> submitted = submit(cluster, job, jobId);
            SupervisorState at = waitFor(cluster, jobId, killIteration, killAfterUnits);
            long broken = System.nanoTime();
            log.printf(Locale.ROOT, "    break at %.1f s%n", (broken - t0) / 1e9);
            int completedBefore = at.completedIterations().size();
            switch (scenario) {
                case KILL_WORKER_NODE -> target(cluster, workerWithPendingUnit(cluster, at), "worker").kill();
                case KILL_SOLVER_NODE -> target(cluster, other(cluster, cluster.solverHosts()), "solver").kill();
                case KILL_SUPERVISOR_NODE -> target(cluster, first(cluster.supervisorHosts()), "supervisor").kill();
                case PAUSE_NODE -> {
                    NodeProcess p = target(cluster, workerWithPendingUnit(cluster, at), "paused");
                    p.pause();
                    NodeProcess.sleep(15_000); // past the failure detector and the split-brain resolver's stable-after
                    p.resume();
                }
                case CRASH_AFTER_PUBLISH -> {
                    // the publishing node halts by itself
                }
                case KILL_ALL_NODES -> {
                    cluster.killAll();
                    cluster.start(3);
                    submitted = submit(cluster, job, jobId);
                }
            }
            Merger.Result result = submitted.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            List<Message> events = new ArrayList<>();
            for (EventEnvelope e : JobHistory.events(cluster.client.system(), jobId)) {
                events.add((Message) e.event());
            }
            recovery = recoverySeconds(events, completedBefore, broken, cluster);
            boolean identical = sameDeltas(reference, result.outcome()) && Arrays.equals(referenceAdapter,
                    Files.readAllBytes(result.out().resolve("adapter_model.safetensors")));
            List<String> recorded = new ArrayList<>();
            boolean consistent = checkJournal(events, iterations, recorded);
            return new Outcome(scenario, seed, true, identical, consistent, recorded, (System.nanoTime() - t0) / 1e9, recovery, null);
        } catch (Exception e) {
            log.printf("  %s seed %d failed: %s%n  node logs in %s; their last lines:%n%s", scenario, seed, e, dir.resolve("logs"),
                    ProcessCluster.logTails(dir.resolve("logs"), 40));
            return new Outcome(scenario, seed, false, false, false, List.of(), (System.nanoTime() - t0) / 1e9, recovery, String.valueOf(e));
        }
    }

    private static CompletableFuture<Merger.Result> submit(ProcessCluster cluster, Merger.LoadedJob job, String jobId) {
        ActorEngine engine = new ActorEngine(cluster.client, p -> {
            if (!p.getNode().isEmpty()) {
                cluster.supervisorNode = p.getNode();
            }
        }, Duration.ofMillis(TIMEOUT_MS));
        // A thread of its own: the common pool may have a single thread on a small machine, still held by the
        // submission to a cluster that was just killed.
        CompletableFuture<Merger.Result> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(engine.submit(job, jobId, null));
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "chaos-submit-" + jobId);
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** Polls the journal (bounded) until the iteration has that many units done. */
    private static SupervisorState waitFor(ProcessCluster cluster, String jobId, int iteration, int unitsDone) {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (System.currentTimeMillis() < deadline) {
            SupervisorState s = JobHistory.replay(cluster.client.system(), jobId);
            if (s.spec() != null && (s.iteration() > iteration || (s.iteration() == iteration && s.unitsDone() >= unitsDone))) {
                return s;
            }
            NodeProcess.sleep(20);
        }
        throw new IllegalStateException("the job never reached the kill point");
    }

    private static int workerWithPendingUnit(ProcessCluster cluster, SupervisorState s) {
        Set<Integer> supervisor = cluster.supervisorHosts();
        for (SupervisorState.Unit u : s.units().values()) {
            if (!u.done() && u.worker() != null) {
                NodeProcess p = cluster.byAddress(u.worker());
                if (p != null && !supervisor.contains(p.port())) {
                    return p.port();
                }
            }
        }
        return other(cluster, supervisor);
    }

    /** A node not in {@code avoid} if the candidates allow, else any of them. */
    private static int other(ProcessCluster cluster, Set<Integer> candidates) {
        Set<Integer> supervisor = cluster.supervisorHosts();
        for (Integer p : candidates) {
            if (!supervisor.contains(p) && p != cluster.nodes.get(0).port()) {
                return p;
            }
        }
        for (NodeProcess p : cluster.nodes) {
            if (!supervisor.contains(p.port())) {
                return p.port();
            }
        }
        return cluster.nodes.get(cluster.nodes.size() - 1).port();
    }

    private static int first(Set<Integer> ports) {
        if (ports.isEmpty()) {
            throw new IllegalStateException("no node hosts the supervisor");
        }
        return ports.iterator().next();
    }

    private static NodeProcess target(ProcessCluster cluster, int port, String role) {
        for (NodeProcess p : cluster.nodes) {
            if (p.port() == port) {
                return p;
            }
        }
        throw new IllegalStateException("no " + role + " node on port " + port);
    }

    private static boolean sameDeltas(Map<String, INDArray> reference, MergeOutcome got) {
        for (Map.Entry<String, INDArray> e : reference.entrySet()) {
            if (!Arrays.equals(Matrices.toArray(e.getValue()), Matrices.toArray(got.deltas().get(e.getKey())))) {
                return false;
            }
        }
        return true;
    }

    /** Every iteration started and completed once, each layer solved once per iteration; what was recorded. */
    private static boolean checkJournal(List<Message> events, int iterations, List<String> recorded) {
        Map<Integer, Integer> started = new HashMap<>();
        Map<Integer, Integer> completed = new HashMap<>();
        Map<String, String> solved = new HashMap<>();
        Map<String, Integer> reasons = new java.util.LinkedHashMap<>();
        boolean consistent = true;
        for (Message m : events) {
            if (m instanceof IterationStarted s) {
                started.merge(s.getIteration(), 1, Integer::sum);
            } else if (m instanceof IterationCompleted c) {
                completed.merge(c.getIteration(), 1, Integer::sum);
            } else if (m instanceof LayerSolvedRecorded l) {
                String key = l.getResult().getIteration() + "/" + l.getResult().getLayer();
                String before = solved.put(key, l.getResult().getContentHash());
                consistent &= before == null || before.equals(l.getResult().getContentHash());
            } else if (m instanceof WorkUnitReassigned r) {
                reasons.merge("reassigned: " + r.getReason().replaceAll("solver of \\S+", "a solver"), 1, Integer::sum);
            } else if (m instanceof JobResumed r) {
                reasons.merge("resumed at iteration " + (r.getIteration() + 1), 1, Integer::sum);
            }
        }
        reasons.forEach((reason, n) -> recorded.add(reason + (n > 1 ? " ×" + n : "")));
        for (int k = 0; k < iterations; k++) {
            consistent &= started.getOrDefault(k, 0) == 1 && completed.getOrDefault(k, 0) == 1;
        }
        return consistent;
    }

    /** Seconds from the break to the next iteration completed after it (by the journal's clock). */
    private static double recoverySeconds(List<Message> events, int completedBefore, long brokenNanos, ProcessCluster cluster) {
        int seen = 0;
        for (Message m : events) {
            if (m instanceof IterationCompleted c && ++seen == completedBefore + 1) {
                long brokeAtMillis = System.currentTimeMillis() - (System.nanoTime() - brokenNanos) / 1_000_000;
                return Math.max(0, (c.getAtMillis() - brokeAtMillis) / 1000.0);
            }
        }
        return Double.NaN;
    }
}
