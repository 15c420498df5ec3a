package io.iteris.actors.cluster;

import io.iteris.core.engine.Merger;
import io.iteris.core.model.onnx.Device;
import io.iteris.protocol.JobSpec;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this node (one ActorSystem: several share a JVM in tests) holds of each job it works on, loaded once however
 * many of its actors use it: a layer solver or the publisher takes only the method and the checked weights
 * ({@link #inputs}); an inference worker also the model and its calibration ({@link #job}). Users hold a
 * {@link Lease}. Loading blocks, so callers take leases off the actors' threads (in a solve, a forward pass or a
 * publish, each on its own dispatcher); a second caller for the same job waits for the first one's load rather than
 * loading twice. When the job ends ({@link #evict}), the node lets go of it as soon as the last lease is closed,
 * closing the model's native session; a job that ended is not loaded again on this node (a late message for it is
 * refused).
 */
public final class JobCache implements Extension {
    private static final ExtensionId<JobCache> ID = new ExtensionId<>() {
        @Override
        public JobCache createExtension(ActorSystem<?> system) {
            return new JobCache();
        }
    };

    /** This node's cache. */
    public static JobCache get(ActorSystem<?> system) {
        return ID.apply(system);
    }

    private final Map<String, Entry> jobs = new ConcurrentHashMap<>();
    /** Jobs that ended, most recent last, bounded: a late unit or chunk for one of them is dropped. */
    private final Map<String, Boolean> ended = Collections.synchronizedMap(new LinkedHashMap<>(64, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > 10_000;
        }
    });

    JobCache() {
    }

    /** A hold on a job's loaded inputs, released by {@link #close}. */
    public static final class Lease implements AutoCloseable {
        private final Entry entry;
        private final Merger.LoadedJob job;
        private boolean closed;

        private Lease(Entry entry, Merger.LoadedJob job) {
            this.entry = entry;
            this.job = job;
        }

        public Merger.LoadedJob job() {
            return job;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                entry.release();
            }
        }
    }

    private final class Entry {
        final String jobId;
        Merger.LoadedJob inputs;
        /** With the model and calibration, per device: workers on different GPUs of a node each have their own session. */
        final Map<Device, Merger.LoadedJob> full = new java.util.HashMap<>();
        int leases;
        boolean ended;

        Entry(String jobId) {
            this.jobId = jobId;
        }

        synchronized Lease acquire(JobSpec spec, boolean withData, Device device) {
            if (ended) {
                return null;
            }
            if (inputs == null) {
                String unseen = JobSpecs.unseen(spec);
                if (unseen != null) {
                    throw new IllegalStateException("this node " + unseen);
                }
                inputs = Merger.prepared(Merger.loadMergeInputs(JobSpecs.settings(spec)));
            }
            Merger.LoadedJob job = withData ? full.computeIfAbsent(device, d -> Merger.withData(inputs, d)) : inputs;
            leases++;
            return new Lease(this, job);
        }

        synchronized void release() {
            leases--;
            if (ended && leases == 0) {
                free();
            }
        }

        synchronized void end() {
            ended = true;
            if (leases == 0) {
                free();
            }
        }

        private void free() {
            jobs.remove(jobId, this);
            for (Merger.LoadedJob j : full.values()) {
                if (j.runner() != null) {
                    j.runner().close();
                }
            }
            full.clear();
            inputs = null;
        }
    }

    /** The method and checked base weights and adapters (no model, no calibration). */
    public Lease inputs(JobSpec spec) {
        return acquire(spec, false, Device.CPU);
    }

    /** Everything the job's inference needs: inputs, model runner (on {@code device}), calibration samples. */
    public Lease job(JobSpec spec, Device device) {
        return acquire(spec, true, device);
    }

    private Lease acquire(JobSpec spec, boolean withData, Device device) {
        String id = spec.getJobId();
        while (true) {
            if (ended.containsKey(id)) {
                throw new JobEndedException(id);
            }
            Lease lease = jobs.computeIfAbsent(id, Entry::new).acquire(spec, withData, device);
            if (lease != null) {
                return lease;
            }
            // the entry ended while we waited for it: look again (now it is refused)
        }
    }

    /** The job ended: release its inputs once no one holds them, and refuse it from now on. */
    public void evict(String jobId) {
        ended.put(jobId, Boolean.TRUE);
        Entry e = jobs.get(jobId);
        if (e != null) {
            e.end();
        }
    }

    /** Whether the job ended (as far as this node heard). */
    public boolean ended(String jobId) {
        return ended.containsKey(jobId);
    }

    /** The jobs whose inputs this node holds now. */
    public List<String> cachedJobs() {
        return new ArrayList<>(jobs.keySet());
    }

    /** A job is asked of a node after it ended there. */
    public static final class JobEndedException extends IllegalStateException {
        public JobEndedException(String jobId) {
            super("job " + jobId + " has ended");
        }
    }
}
