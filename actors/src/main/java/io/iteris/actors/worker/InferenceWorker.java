package io.iteris.actors.worker;

import io.iteris.actors.Entities;
import io.iteris.actors.Wire;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.stream.ChunkSender;
import io.iteris.actors.stream.StatisticStreams;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.core.engine.ShardInference;
import io.iteris.core.model.onnx.Device;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.store.CheckpointStore;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.StatisticKind;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnit;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * Runs forward passes for work units and streams each unit's per-layer statistics to the layer solvers through a
 * watched {@link ChunkSender} child. It keeps each job's shard features (the task models' layer inputs), so a later
 * iteration costs one forward pass, until the job ends ({@link EndJob}, from its node agent). Registered with the
 * Receptionist under {@link Entities#WORKERS}; several run per node. Restarted (its jobs' leases released) if it fails.
 *
 * <p>States: <b>idle</b>; <b>computing</b> one unit, the forward pass on {@code iteris.inference-dispatcher}, its
 * result back by {@code pipeToSelf}; <b>streaming</b> it. Units (and job ends) arriving while busy wait in the stash. A
 * stream that stops without reporting (it threw) fails its unit, which the supervisor gives to another worker at once.
 *
 * <p>Accepts: {@link Assign} (from the supervisor), {@link EndJob} (from its node agent), how its stream ended (from its
 * sender); from itself, a unit's statistics computed or failed, and its sender's stop.
 */
public final class InferenceWorker {
    /** Units waiting while this worker is busy: a supervisor gives a worker its share of an iteration, plus repeats. */
    private static final int STASH = 10_000;

    /** What a worker is told. */
    public sealed interface Command {
    }

    /** Compute this unit and stream its statistics to the solvers (from the job's supervisor). */
    public record Assign(WorkUnit unit) implements Command, Wire {
    }

    /** The job ended (from this node's agent): drop what the worker keeps of it. */
    public record EndJob(String jobId) implements Command {
    }

    /** @param device where this worker runs the model (on a node with several GPUs, each worker its own) */
    public static Behavior<Command> create(EngineSettings settings, Device device) {
        Behavior<Command> worker = Behaviors.setup(ctx -> Behaviors.withStash(STASH, stash -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(Entities.WORKERS, ctx.getSelf()));
            return new InferenceWorker(ctx, stash, settings, device).idle();
        }));
        return Behaviors.supervise(worker).onFailure(SupervisorStrategy.restart());
    }

    /** A job this worker computes for: its inputs held, its shard features kept. */
    private record Held(JobCache.Lease lease, ShardInference inference) {
    }

    /** A unit's statistics, computed off the actor. */
    private record Computed(WorkUnit unit, Held held, List<ChunkSender.Statistic> statistics, long nanos) implements Command {
    }

    private record ComputeFailed(WorkUnit unit, Throwable cause) implements Command {
    }

    /** How the current unit's stream ended, as its sender told. */
    private record StreamEnded(ChunkSender.Outcome outcome) implements Command {
    }

    /** The current unit's sender stopped before it reported how the stream ended. */
    private record StreamStopped(ActorRef<ChunkSender.Command> sender) implements Command {
    }

    private final ActorContext<Command> ctx;
    private final StashBuffer<Command> stash;
    private final ActorRef<ChunkSender.Outcome> streamEnded;
    private final EngineSettings settings;
    private final Device device;
    private final String self;
    private final JobCache cache;
    private final Executor inference;
    private final Map<String, Held> jobs = new HashMap<>();
    private final Set<String> done = new HashSet<>();

    private InferenceWorker(ActorContext<Command> ctx, StashBuffer<Command> stash, EngineSettings settings, Device device) {
        this.ctx = ctx;
        this.stash = stash;
        this.streamEnded = ctx.messageAdapter(ChunkSender.Outcome.class, StreamEnded::new);
        this.settings = settings;
        this.device = device;
        this.self = ActorRefResolver.get(ctx.getSystem()).toSerializationFormat(ctx.getSelf());
        this.cache = JobCache.get(ctx.getSystem());
        this.inference = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("iteris.inference-dispatcher"));
    }

    private Behavior<Command> idle() {
        return released(Behaviors.receive(Command.class)
                .onMessage(Assign.class, a -> onWorkUnitWhenIdle(a.unit()))
                .onMessage(EndJob.class, this::onJobEnded));
    }

    private Behavior<Command> computing(WorkUnit unit) {
        return released(Behaviors.receive(Command.class)
                .onMessage(Assign.class, a -> onWorkUnitWhenBusy(unit, a))
                .onMessage(Computed.class, this::onComputed)
                .onMessage(ComputeFailed.class, this::onComputeFailed)
                // the forward pass may be using the job's session: its end waits until the pass is over
                .onMessage(EndJob.class, e -> {
                    stash.stash(e);
                    return Behaviors.same();
                }));
    }

    private Behavior<Command> streaming(WorkUnit unit, ActorRef<ChunkSender.Command> sender, long inferenceNanos) {
        return released(Behaviors.receive(Command.class)
                .onMessage(Assign.class, a -> onWorkUnitWhenBusy(unit, a))
                .onMessage(StreamEnded.class, e -> e.outcome() instanceof ChunkSender.Sent sent
                        ? onSent(unit, sender, inferenceNanos, sent)
                        : onNotSent(unit, sender, ((ChunkSender.NotSent) e.outcome()).reason()))
                .onMessage(StreamStopped.class, s -> onNotSent(unit, sender, "its statistics stream failed"))
                .onMessage(EndJob.class, this::onJobEnded));
    }

    /** Every state lets go of the jobs' leases when the worker stops or restarts. */
    private Behavior<Command> released(BehaviorBuilder<Command> b) {
        return b.onSignal(PreRestart.class, s -> release()).onSignal(PostStop.class, s -> release()).build();
    }

    private Behavior<Command> release() {
        jobs.values().forEach(h -> h.lease().close());
        jobs.clear();
        return Behaviors.same();
    }

    private static String key(WorkUnit u) {
        UnitId id = u.getUnit();
        return u.getSpec().getJobId() + "/" + id.getIteration() + "/" + id.getTask() + "/" + id.getShard() + "/" + u.getIncludeG()
                + "/" + u.getAttempt();
    }

    private Behavior<Command> onWorkUnitWhenIdle(WorkUnit unit) {
        if (cache.ended(unit.getSpec().getJobId())) {
            return Behaviors.same();
        }
        if (done.contains(key(unit))) {
            // done before, and the report may have been lost with a supervisor's node: report again
            reportDone(unit, 0, 0);
            return Behaviors.same();
        }
        return start(unit);
    }

    private Behavior<Command> onWorkUnitWhenBusy(WorkUnit current, Assign assign) {
        WorkUnit unit = assign.unit();
        String k = key(unit);
        if (cache.ended(unit.getSpec().getJobId()) || k.equals(key(current))
                || stash.anyMatch(m -> m instanceof Assign a && key(a.unit()).equals(k))) {
            return Behaviors.same();
        }
        if (done.contains(k)) {
            reportDone(unit, 0, 0);
        } else if (stash.isFull()) {
            ctx.getLog().warn("work unit {} dropped: {} units already wait (the supervisor gives it again when it is overdue)", k, STASH);
        } else {
            stash.stash(assign);
        }
        return Behaviors.same();
    }

    /** Hands a unit's forward pass to the inference pool; the worker stays responsive meanwhile. */
    private Behavior<Command> start(WorkUnit unit) {
        Held held = jobs.get(unit.getSpec().getJobId());
        CompletableFuture<Computed> computed = CompletableFuture.supplyAsync(() -> compute(unit, held), inference);
        ctx.pipeToSelf(computed, (c, e) -> c != null ? c
                : new ComputeFailed(unit, e instanceof CompletionException && e.getCause() != null ? e.getCause() : e));
        return computing(unit);
    }

    /** Off the actor: loads the job if this worker does not hold it yet, runs the forward pass, lists the statistics. */
    private Computed compute(WorkUnit unit, Held known) {
        long t0 = System.nanoTime();
        JobSpec spec = unit.getSpec();
        Held held = known;
        if (held == null) {
            JobCache.Lease lease = cache.job(spec, device);
            held = new Held(lease, new ShardInference(lease.job().inputs(), lease.job().runner(), lease.job().samples(), spec.getShardSize()));
        }
        try {
            return statistics(unit, held, t0);
        } catch (RuntimeException e) {
            if (known == null) {
                held.lease().close(); // never handed to the actor
            }
            throw e;
        }
    }

    private static Computed statistics(WorkUnit unit, Held held, long t0) {
        JobSpec spec = unit.getSpec();
        UnitId u = unit.getUnit();
        Map<String, INDArray> merged = null;
        if (u.getIteration() > 0) {
            CheckpointStore store = new CheckpointStore(Path.of(spec.getStorePath()));
            merged = new LinkedHashMap<>();
            for (String layer : spec.getLayersList()) {
                merged.put(layer, store.get(unit.getWeightsOrThrow(layer)));
            }
        }
        Map<String, GramStatistics> stats = held.inference().statistics(u.getTask(), u.getShard(), merged, unit.getIncludeG());
        List<ChunkSender.Statistic> out = new ArrayList<>();
        for (String layer : JobSpecs.statisticsLayers(spec)) {
            GramStatistics g = stats.get(layer);
            if (unit.getIncludeG() || u.getIteration() == 0) {
                out.add(statistic(u, layer, StatisticKind.STATISTIC_G, g.g(), g.rows()));
            }
            if (u.getIteration() > 0) {
                out.add(statistic(u, layer, StatisticKind.STATISTIC_C, g.c(), g.rows()));
                out.add(statistic(u, layer, StatisticKind.STATISTIC_H, g.h(), g.rows()));
            }
        }
        return new Computed(unit, held, out, System.nanoTime() - t0);
    }

    private static ChunkSender.Statistic statistic(UnitId u, String layer, StatisticKind kind, INDArray m, long rows) {
        return new ChunkSender.Statistic(StatisticStreams.key(layer, u.getIteration(), u.getTask(), u.getShard(), kind), m, rows);
    }

    private Behavior<Command> onComputed(Computed c) {
        WorkUnit unit = c.unit();
        jobs.putIfAbsent(unit.getSpec().getJobId(), c.held());
        ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
        ActorRef<ChunkSender.Command> sender = ctx.spawnAnonymous(ChunkSender.create(unit.getSpec().getJobId(), c.statistics(),
                settings.chunkSender(), chunk -> sharding.entityRefFor(Entities.SOLVER, Entities.solverId(chunk.getJobId(), chunk.getKey().getLayer())),
                streamEnded, settings.faults()));
        // a sender that throws stops without a word: the watch turns that into a failed unit, so the worker is free again
        ctx.watchWith(sender, new StreamStopped(sender));
        return streaming(unit, sender, c.nanos());
    }

    private Behavior<Command> onComputeFailed(ComputeFailed f) {
        if (!(f.cause() instanceof JobCache.JobEndedException)) {
            ctx.getLog().error("work unit {} failed", key(f.unit()), f.cause());
            reportFailed(f.unit(), String.valueOf(f.cause().getMessage()));
        }
        return next();
    }

    private Behavior<Command> onSent(WorkUnit unit, ActorRef<ChunkSender.Command> sender, long inferenceNanos, ChunkSender.Sent sent) {
        ctx.unwatch(sender);
        done.add(key(unit));
        reportDone(unit, inferenceNanos, sent.bytes());
        return next();
    }

    private Behavior<Command> onNotSent(WorkUnit unit, ActorRef<ChunkSender.Command> sender, String reason) {
        ctx.unwatch(sender);
        ctx.getLog().warn("work unit {} not sent: {}", key(unit), reason);
        reportFailed(unit, reason);
        return next();
    }

    /** Drops what this worker keeps of an ended job; a unit of it still streaming finishes on its own. */
    private Behavior<Command> onJobEnded(EndJob e) {
        String id = e.jobId();
        Held held = jobs.remove(id);
        if (held != null) {
            held.lease().close();
        }
        done.removeIf(k -> k.startsWith(id + "/"));
        return Behaviors.same();
    }

    private void reportFailed(WorkUnit unit, String reason) {
        Entities.tellSupervisor(ctx.getSystem(), unit.getSpec().getJobId(), new MergeSupervisor.UnitFailed(WorkUnitFailed.newBuilder()
                .setJobId(unit.getSpec().getJobId()).setUnit(unit.getUnit()).setWorker(self).setReason(reason).build()));
    }

    private void reportDone(WorkUnit unit, long nanos, long bytes) {
        Entities.tellSupervisor(ctx.getSystem(), unit.getSpec().getJobId(), new MergeSupervisor.UnitDone(WorkUnitDone.newBuilder()
                .setJobId(unit.getSpec().getJobId()).setUnit(unit.getUnit()).setWorker(self).setInferenceNanos(nanos).setBytesSent(bytes).build()));
    }

    /** Idle again: the waiting units and job ends are taken in the order they came (units of ended jobs are dropped). */
    private Behavior<Command> next() {
        return stash.unstashAll(idle());
    }
}
