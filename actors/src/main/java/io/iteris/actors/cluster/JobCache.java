package io.iteris.actors.cluster;

import io.iteris.core.engine.Merger;
import io.iteris.core.model.ModelRunner;
import io.iteris.core.model.onnx.Device;
import io.iteris.protocol.JobSpec;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * What this node (one ActorSystem: several share a JVM in tests) holds of each job it works on, loaded once however
 * many of its actors use it: a layer solver or the publisher takes only the method and the checked weights
 * ({@link #inputs}); an inference worker also the model and its calibration ({@link #job}). Users hold a
 * {@link Lease}. Loading blocks, so callers take leases off the actors' threads (in a solve, a forward pass or a
 * publish, each on its own dispatcher); a second caller for the same part of a job waits for the first one's load rather
 * than loading twice, and a caller for another part does not wait at all. When the job ends ({@link #evict}), the node
 * lets go of it as soon as the last lease is closed, closing the model's native session; a job that ended is not loaded
 * again on this node (a late message for it is refused).
 */
public final class JobCache implements Extension {
    private static final ExtensionId<JobCache> ID = new ExtensionId<>() {
        @Override
        public JobCache createExtension(ActorSystem<?> system) {
            return new JobCache(MERGER);
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

    /** How a job's parts are loaded (tests put a slow or failing one in its place). */
    interface Loader {
        /** The method and the checked base weights and adapters. */
        Merger.LoadedJob inputs(JobSpec spec);

        /** {@code inputs} with the model (on {@code device}) and the calibration added. */
        Merger.LoadedJob withData(Merger.LoadedJob inputs, Device device);
    }

    static final Loader MERGER = new Loader() {
        @Override
        public Merger.LoadedJob inputs(JobSpec spec) {
            String unseen = JobSpecs.unseen(spec);
            if (unseen != null) {
                throw new IllegalStateException("this node " + unseen);
            }
            return Merger.prepared(Merger.loadMergeInputs(JobSpecs.settings(spec)));
        }

        @Override
        public Merger.LoadedJob withData(Merger.LoadedJob inputs, Device device) {
            return Merger.withData(inputs, device);
        }
    };

    private final Loader loader;

    JobCache(Loader loader) {
        this.loader = loader;
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

    /**
     * One job's parts, each loaded once by its first caller, outside the entry's lock: a solver wanting the weights does
     * not wait for a worker's model session, nor a worker on one GPU for another's. A part whose load failed is loaded
     * again by its next caller.
     */
    private final class Entry {
        final String jobId;
        CompletableFuture<Merger.LoadedJob> inputs;
        /** With the model and calibration, per device: workers on different GPUs of a node each have their own session. */
        final Map<Device, CompletableFuture<Merger.LoadedJob>> full = new HashMap<>();
        /** Held and being loaded: a job that ends meanwhile is freed by the last of them. */
        int leases;
        boolean ended;

        Entry(String jobId) {
            this.jobId = jobId;
        }

        /** A lease on the part asked for, or null when the job ended before. */
        Lease acquire(JobSpec spec, boolean withData, Device device) {
            CompletableFuture<Merger.LoadedJob> in;
            boolean load;
            synchronized (this) {
                if (ended) {
                    return null;
                }
                leases++;
                load = inputs == null;
                if (load) {
                    inputs = new CompletableFuture<>();
                }
                in = inputs;
            }
            try {
                Merger.LoadedJob base = part(in, load, () -> loader.inputs(spec), () -> inputs = null);
                if (!withData) {
                    return new Lease(this, base);
                }
                CompletableFuture<Merger.LoadedJob> f;
                synchronized (this) {
                    f = full.get(device);
                    load = f == null;
                    if (load) {
                        full.put(device, f = new CompletableFuture<>());
                    }
                }
                return new Lease(this, part(f, load, () -> loader.withData(base, device), () -> full.remove(device)));
            } catch (RuntimeException | Error e) {
                release();
                throw e;
            }
        }

        /** Loads the part (when {@code load}) or waits for whoever does; a failure is forgotten ({@code forget}) and thrown. */
        private Merger.LoadedJob part(CompletableFuture<Merger.LoadedJob> f, boolean load, Supplier<Merger.LoadedJob> loading,
                                      Runnable forget) {
            if (load) {
                try {
                    f.complete(loading.get());
                } catch (RuntimeException | Error e) {
                    synchronized (this) {
                        forget.run();
                    }
                    f.completeExceptionally(e);
                    throw e;
                }
            }
            try {
                return f.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
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
            for (CompletableFuture<Merger.LoadedJob> f : full.values()) {
                if (f.isDone() && !f.isCompletedExceptionally()) {
                    f.join().model().ifPresent(ModelRunner::close);
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
