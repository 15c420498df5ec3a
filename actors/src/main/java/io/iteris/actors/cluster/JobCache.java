package io.iteris.actors.cluster;

import io.iteris.core.engine.Merger;
import io.iteris.protocol.JobSpec;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each node loads a job's inputs (base weights, adapters, calibration) once, however many of its actors
 * work on the job. What it holds is never mutated after loading, so sharing it is safe.
 */
public final class JobCache {
    private static final Map<String, Merger.LoadedJob> JOBS = new ConcurrentHashMap<>();

    private JobCache() {
    }

    public static Merger.LoadedJob get(JobSpec spec) {
        return JOBS.computeIfAbsent(spec.getJobId(), id -> Merger.loadInputs(JobSpecs.settings(spec)));
    }

    public static void evict(String jobId) {
        JOBS.remove(jobId);
    }
}
