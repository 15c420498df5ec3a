package io.iteris.bench.perf;

import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.client.ClusterNodes;
import io.iteris.bench.data.ImageTasks;
import io.iteris.core.engine.Merger;
import io.iteris.bench.ExampleJobs;
import io.iteris.bench.cluster.ProcessCluster;
import io.iteris.protocol.NodeDescription;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code bench soak}: merges one after another on three long-running node processes (the shipped five-task
 * Fashion merge, TLS on), and after each job every node's heap after a full GC and its resident memory, with the
 * live supervisors, solvers and cached jobs. A node that lets go of finished jobs has flat memory; the slopes
 * (MiB per job, least squares over the jobs after the first, which warm the JIT and the native libraries) say it.
 */
final class SoakBench {
    private SoakBench() {
    }

    record Sample(int job, double wallSeconds, List<NodeDescription> nodes) {
        double heapMib() {
            return nodes.stream().mapToLong(NodeDescription::getHeapUsedBytes).sum() / 1048576.0;
        }

        double rssMib() {
            return nodes.stream().mapToLong(NodeDescription::getRssBytes).sum() / 1048576.0;
        }

        int live() {
            return nodes.stream().mapToInt(n -> n.getSupervisors() + n.getSolvers() + n.getCachedJobsCount()).sum();
        }
    }

    static ResultTable run(Path example, Path dir, int jobs, String heap, PrintStream log) {
        Path calibration = ImageTasks.load(example.resolve("data")).writeCalibration(dir.resolve("calibration.safetensors"), 32);
        ResultTable t = new ResultTable("job", "wall_s", "heap_after_gc_mib", "rss_mib", "heap_n1", "heap_n2", "heap_n3",
                "rss_n1", "rss_n2", "rss_n3", "live_entities");
        List<Sample> samples = new ArrayList<>();
        try (ProcessCluster cluster = new ProcessCluster(dir.resolve("cluster"))) {
            cluster.start(3, heap);
            for (int j = 1; j <= jobs; j++) {
                Merger.LoadedJob job = Merger.load(ExampleJobs.settings(example, calibration, dir.resolve("out"), 3));
                long t0 = System.nanoTime();
                new ActorEngine(cluster.client, p -> { }, Duration.ofMinutes(30)).submit(job, "soak-" + j, null);
                double wall = (System.nanoTime() - t0) / 1e9;
                Sample s = new Sample(j, wall, ClusterNodes.describe(cluster.client.system(), true, Duration.ofSeconds(60)));
                samples.add(s);
                List<Object> row = new ArrayList<>(List.of(j, wall, s.heapMib(), s.rssMib()));
                for (int i = 0; i < 3; i++) {
                    row.add(i < s.nodes().size() ? s.nodes().get(i).getHeapUsedBytes() / 1048576.0 : Double.NaN);
                }
                for (int i = 0; i < 3; i++) {
                    row.add(i < s.nodes().size() ? s.nodes().get(i).getRssBytes() / 1048576.0 : Double.NaN);
                }
                row.add(s.live());
                t.add(row.toArray());
                log.printf(Locale.ROOT, "  job %d: %.1f s, heap after GC %.1f MiB, RSS %.1f MiB (3 nodes), live entities and cached jobs %d%n",
                        j, wall, s.heapMib(), s.rssMib(), s.live());
            }
            List<NodeDescription> end = settled(cluster, log);
            log.println();
            for (NodeDescription n : end) {
                log.printf(Locale.ROOT, "  at the end, %s: %d supervisors, %d solvers, %d cached jobs%n", n.getAddress(), n.getSupervisors(),
                        n.getSolvers(), n.getCachedJobsCount());
            }
        }
        if (samples.size() >= 3) {
            log.printf(Locale.ROOT, "  slope over jobs 2..%d: heap after GC %+.2f MiB/job, RSS %+.2f MiB/job (three nodes together)%n",
                    samples.size(), slope(samples.subList(1, samples.size()), true), slope(samples.subList(1, samples.size()), false));
        }
        if (samples.size() >= 10) {
            // the steady state: the last half of the jobs, node by node (the JVM sizes its heap over the first ones)
            List<Sample> tail = samples.subList(samples.size() / 2, samples.size());
            for (int i = 0; i < tail.get(0).nodes().size(); i++) {
                int node = i;
                log.printf(Locale.ROOT, "  slope over jobs %d..%d, node %d: heap after GC %+.2f MiB/job, RSS %+.2f MiB/job%n",
                        tail.get(0).job(), samples.size(), node + 1,
                        slope(tail, x -> x.nodes().get(node).getHeapUsedBytes() / 1048576.0),
                        slope(tail, x -> x.nodes().get(node).getRssBytes() / 1048576.0));
            }
        }
        if (samples.size() >= 5) {
            Sample fifth = samples.get(4);
            Sample last = samples.get(samples.size() - 1);
            log.printf(Locale.ROOT, "  heap after GC at job %d / job 5: %.3f; RSS: %.3f%n", last.job(), last.heapMib() / fifth.heapMib(),
                    last.rssMib() / fifth.rssMib());
        }
        return t;
    }

    /** The nodes once every finished job's entities have stopped (passivation is asynchronous), at most 60 s later. */
    private static List<NodeDescription> settled(ProcessCluster cluster, PrintStream log) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            List<NodeDescription> nodes = ClusterNodes.describe(cluster.client.system(), false, Duration.ofSeconds(60));
            int live = nodes.stream().mapToInt(n -> n.getSupervisors() + n.getSolvers() + n.getCachedJobsCount()).sum();
            if (live == 0 || System.nanoTime() > deadline) {
                return nodes;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return nodes;
            }
        }
    }

    /** Least-squares slope of heap (or RSS) against the job number. */
    static double slope(List<Sample> s, boolean heap) {
        return slope(s, heap ? Sample::heapMib : Sample::rssMib);
    }

    /** Least-squares slope of {@code value} against the job number. */
    static double slope(List<Sample> s, java.util.function.ToDoubleFunction<Sample> value) {
        double n = s.size();
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        for (Sample x : s) {
            double y = value.applyAsDouble(x);
            sx += x.job();
            sy += y;
            sxx += (double) x.job() * x.job();
            sxy += x.job() * y;
        }
        return (n * sxy - sx * sy) / (n * sxx - sx * sx);
    }
}
