package io.iteris.actors.solver;

import io.iteris.actors.Entities;
import io.iteris.actors.Wire;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.metrics.NodeMetrics;
import io.iteris.actors.stream.ChunkSender;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.core.engine.IterationPolicy;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.store.CheckpointStore;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.DescribeLayer;
import io.iteris.protocol.DoubleList;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerFailed;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.SolveLayer;
import io.iteris.protocol.SolverJob;
import io.iteris.protocol.StatisticChunk;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * Owns one layer of one job (sharded by {@link Entities#solverId}, remember-entities on). It collects the statistic
 * contributions of every (iteration, task, shard, kind), each counted once however often it arrives
 * ({@link LayerStatistics}), and on {@link SolveLayer} solves, stores ΔW in the checkpoint store and reports
 * {@link LayerSolved} to the supervisor. Layers that read the same input share one solver: the one of the group's
 * first layer ({@link JobSpecs#statisticsLayer}), which holds the statistics once and solves every layer of the group.
 * What a layer's first solve carries over to later ones is kept ({@link IterationPolicy.CarryOver}), as the local loop does.
 * What it lacks (never sent, or lost when its node died) it names in {@link MissingStatistics}, and the supervisor has
 * it recomputed.
 *
 * <p>States: <b>waiting for its job</b> (chunks are answered "retry later" while it asks the supervisor,
 * {@link DescribeLayer}; a solver revived by remember-entities that hears nothing asks after {@link #IDLE_CHECK}, never
 * when it starts: a solver started by the {@link EndJob} that answers such a question would ask again and again);
 * <b>collecting</b>; <b>solving</b>: the solve (loading the job's inputs, the factorisation, hashing and writing the
 * result) runs on {@code iteris.solve-dispatcher} and comes back by {@code pipeToSelf}, so the solver keeps taking
 * chunks meanwhile and {@link Solve}s wait in its stash; <b>ended</b>, after {@link EndJob}, until its shard
 * passivates it.
 *
 * <p>Accepts: {@link Chunk} (acknowledged to the sending worker's sender), {@link Solve}, {@link Introduce}, {@link EndJob};
 * from itself, its receive timeout and the solve's outcome.
 */
public final class LayerSolver {
    /** What a layer solver is told. */
    public sealed interface Command {
    }

    /** One chunk of a statistic, acknowledged to {@code replyTo} (the sending worker's {@link ChunkSender}). */
    public record Chunk(StatisticChunk chunk, ActorRef<ChunkSender.Command> replyTo) implements Command, Wire {
    }

    /**
     * Solve {@code request.layer} at {@code request.iteration}: answered with {@link LayerSolved}, {@link MissingStatistics}
     * or {@link LayerFailed}, to {@code replyTo} or, when it is empty, to the job's supervisor wherever it lives.
     */
    public record Solve(SolveLayer request, Optional<ActorRef<MergeSupervisor.Command>> replyTo) implements Command, Wire {
    }

    /** The job this solver solves for (from its supervisor, before statistics arrive). */
    public record Introduce(SolverJob job) implements Command, Wire {
    }

    /** The job is over: passivate. */
    public record EndJob(String jobId) implements Command, Wire {
    }

    /** Nothing heard for a while, not knowing the job. */
    private enum Idle implements Command { INSTANCE }

    /** A solve's outcome, back from the solve dispatcher. */
    private record Solved(LayerSolved result) implements Command {
    }

    private record SolveFailed(LayerFailed failure) implements Command {
    }

    private static final Logger LOG = LoggerFactory.getLogger(LayerSolver.class);

    /** How long a solver that does not know its job waits for a message before it asks the supervisor. */
    public static final Duration IDLE_CHECK = Duration.ofSeconds(10);
    /** Where solves run; the solver actors themselves run on {@code iteris.solver-dispatcher}. */
    static final String SOLVE_DISPATCHER = "iteris.solve-dispatcher";
    /** Requests waiting for a solve in progress: a solver gets one per layer of its group and iteration, plus repeats. */
    private static final int STASH = 1000;

    public static void initSharding(ActorSystem<?> system, EngineSettings.Faults faults) {
        ClusterSharding.get(system).init(Entity.of(Entities.SOLVER, ctx -> create(ctx.getEntityId(),
                        m -> Entities.tellSupervisor(system, Entities.jobOf(ctx.getEntityId()), m),
                        self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self)), IDLE_CHECK, faults))
                .withRole("solver")
                .withEntityProps(DispatcherSelector.fromConfig("iteris.solver-dispatcher")));
    }

    /** A solver with no faults injected. */
    public static Behavior<Command> create(String entityId, Consumer<MergeSupervisor.Command> toSupervisor, Consumer<ActorRef<Command>> passivate,
                                           Duration idleCheck) {
        return create(entityId, toSupervisor, passivate, idleCheck, EngineSettings.Faults.NONE);
    }

    /**
     * @param toSupervisor how this solver reaches its job's supervisor
     * @param passivate    how it asks to be stopped for good (its shard's Passivate)
     * @param idleCheck    how long it waits, not knowing its job and receiving nothing, before it asks
     */
    public static Behavior<Command> create(String entityId, Consumer<MergeSupervisor.Command> toSupervisor, Consumer<ActorRef<Command>> passivate,
                                           Duration idleCheck, EngineSettings.Faults faults) {
        return Behaviors.setup(ctx -> Behaviors.withStash(STASH, stash -> {
            ctx.setReceiveTimeout(idleCheck, Idle.INSTANCE);
            return new LayerSolver(ctx, stash, entityId, toSupervisor, passivate, faults).waitingForJob();
        }));
    }

    private final ActorContext<Command> ctx;
    private final StashBuffer<Command> stash;
    private final String jobId;
    private final String layer;
    private final Consumer<MergeSupervisor.Command> toSupervisor;
    private final Consumer<ActorRef<Command>> passivate;
    private final EngineSettings.Faults faults;
    private final Executor solves;
    /** What each layer's solves hand to its later ones. */
    private final IterationPolicy.CarryOver carried = IterationPolicy.carryOver();
    /** Per layer of the group, its answers by iteration. */
    private final Map<String, Map<Integer, LayerSolved>> solved = new HashMap<>();
    /** Set when the job is known. */
    private LayerStatistics statistics;

    private LayerSolver(ActorContext<Command> ctx, StashBuffer<Command> stash, String entityId, Consumer<MergeSupervisor.Command> toSupervisor,
                        Consumer<ActorRef<Command>> passivate, EngineSettings.Faults faults) {
        this.ctx = ctx;
        this.stash = stash;
        this.jobId = Entities.jobOf(entityId);
        this.layer = Entities.layerOf(entityId);
        this.toSupervisor = toSupervisor;
        this.passivate = passivate;
        this.faults = faults;
        this.solves = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(SOLVE_DISPATCHER));
    }

    private Behavior<Command> waitingForJob() {
        return Behaviors.receive(Command.class)
                .onMessage(Chunk.class, c -> {
                    ack(c, false, true);
                    describe();
                    return Behaviors.same();
                })
                .onMessage(Solve.class, cmd -> learn(cmd.request().getSpec()) ? onSolve(cmd) : refuse(cmd))
                .onMessage(Introduce.class, j -> learn(j.job().getSpec()) ? collecting() : Behaviors.same())
                .onMessage(Idle.class, idle -> {
                    describe();
                    return Behaviors.same();
                })
                .onMessage(EndJob.class, this::onJobEnded)
                .build();
    }

    private Behavior<Command> collecting() {
        return Behaviors.receive(Command.class)
                .onMessage(Chunk.class, this::onChunk)
                .onMessage(Solve.class, this::onSolve)
                .onMessage(Introduce.class, j -> Behaviors.same())
                .onMessage(Idle.class, idle -> Behaviors.same())
                .onMessage(EndJob.class, this::onJobEnded)
                .build();
    }

    /** A solve of {@code cmd} runs elsewhere; its outcome comes back to this actor. */
    private Behavior<Command> solving(Solve cmd) {
        return Behaviors.receive(Command.class)
                .onMessage(Chunk.class, this::onChunk)
                .onMessage(Solve.class, later -> {
                    stash.stash(later);
                    return Behaviors.same();
                })
                .onMessage(Solved.class, done -> onSolved(cmd, done.result()))
                .onMessage(SolveFailed.class, failed -> {
                    reply(cmd, new MergeSupervisor.SolveFailed(failed.failure()));
                    return stash.unstashAll(collecting());
                })
                .onMessage(Introduce.class, j -> Behaviors.same())
                .onMessage(Idle.class, idle -> Behaviors.same())
                .onMessage(EndJob.class, this::onJobEnded)
                .build();
    }

    /** After its job ended, until its shard stops it: late chunks are acknowledged and dropped, nothing is solved. */
    private Behavior<Command> ended() {
        return Behaviors.receive(Command.class)
                .onMessage(Chunk.class, c -> {
                    ack(c, true, false);
                    return Behaviors.same();
                })
                .onAnyMessage(m -> Behaviors.same())
                .build();
    }

    private void describe() {
        toSupervisor.accept(new MergeSupervisor.Describe(DescribeLayer.newBuilder().setJobId(jobId).setLayer(layer).build()));
    }

    /** Learns the job from a spec; false (logged) if the spec has no statistics for this layer. */
    private boolean learn(JobSpec s) {
        if (statistics != null) {
            return true;
        }
        LayerStatistics stats = s.getJobId().equals(jobId) ? LayerStatistics.of(s, layer) : null;
        if (stats == null) {
            ctx.getLog().warn("layer {}: job {} has no such layer (or no shape for it, or it takes another's statistics)", layer, jobId);
            return false;
        }
        statistics = stats;
        ctx.cancelReceiveTimeout();
        return true;
    }

    private Behavior<Command> onJobEnded(EndJob e) {
        ctx.cancelReceiveTimeout();
        statistics = null;
        passivate.accept(ctx.getSelf());
        return ended();
    }

    private Behavior<Command> onChunk(Chunk chunk) {
        StatisticChunk c = chunk.chunk();
        StringBuilder why = new StringBuilder();
        LayerStatistics.Offer offer = statistics.offer(c, why);
        if (offer == LayerStatistics.Offer.REFUSED) {
            ctx.getLog().warn("layer {}: refused chunk {} #{}: {}", layer, c.getKey(), c.getChunkIndex(), why);
        } else if (offer != LayerStatistics.Offer.STALE) {
            NodeMetrics.get(ctx.getSystem()).received(c.getData().size());
        }
        ack(chunk, offer != LayerStatistics.Offer.REFUSED, false);
        return Behaviors.same();
    }

    private void ack(Chunk chunk, boolean accepted, boolean retryLater) {
        StatisticChunk c = chunk.chunk();
        chunk.replyTo().tell(new ChunkSender.Ack(ChunkAck.newBuilder().setJobId(c.getJobId()).setKey(c.getKey())
                .setChunkIndex(c.getChunkIndex()).setAccepted(accepted).setRetryLater(retryLater).build()));
    }

    private Behavior<Command> refuse(Solve cmd) {
        SolveLayer r = cmd.request();
        reply(cmd, new MergeSupervisor.SolveFailed(LayerFailed.newBuilder().setJobId(jobId).setLayer(r.getLayer()).setIteration(r.getIteration())
                .setReason("the solver of " + layer + " does not solve " + r.getLayer() + " (it is not in the job, or takes other statistics)").build()));
        return Behaviors.same();
    }

    private Behavior<Command> onSolve(Solve cmd) {
        int it = cmd.request().getIteration();
        String target = cmd.request().getLayer();
        if (!statistics.members().contains(target)) {
            refuse(cmd);
            return collecting();
        }
        LayerSolved done = solved.getOrDefault(target, Map.of()).get(it);
        if (done != null) {
            reply(cmd, new MergeSupervisor.Solved(done));
            return collecting();
        }
        List<MissingUnit> missing = statistics.missing(it);
        if (!missing.isEmpty()) {
            reply(cmd, new MergeSupervisor.Missing(MissingStatistics.newBuilder().setJobId(jobId).setLayer(target).setIteration(it)
                    .addAllMissing(missing).build()));
            return collecting();
        }
        JobSpec spec = statistics.spec();
        List<GramStatistics> perTask = statistics.perTask(it);
        double[] coef = carried.coefficients(target);
        JobCache cache = JobCache.get(ctx.getSystem());
        String previous = cmd.request().getPreviousHash();
        ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> solve(cache, spec, target, it, previous, perTask, coef, faults), solves),
                (result, error) -> {
                    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                    if (cause instanceof JobCache.JobEndedException) {
                        return new EndJob(jobId);
                    }
                    if (cause != null) {
                        LOG.error("layer {}: solve of iteration {} failed", target, it, cause);
                        return new SolveFailed(LayerFailed.newBuilder().setJobId(jobId).setLayer(target).setIteration(it)
                                .setReason(String.valueOf(cause.getMessage())).build());
                    }
                    return new Solved(result);
                });
        return solving(cmd);
    }

    private Behavior<Command> onSolved(Solve cmd, LayerSolved done) {
        String target = done.getLayer();
        int it = done.getIteration();
        carried.solved(target, done.getCarriedCoefficientsList().stream().mapToDouble(Double::doubleValue).toArray());
        solved.computeIfAbsent(target, l -> new HashMap<>()).put(it, done);
        if (statistics.members().stream().allMatch(l -> solved.getOrDefault(l, Map.of()).containsKey(it))) {
            statistics.solvedUpTo(it);
        }
        reply(cmd, new MergeSupervisor.Solved(done));
        return stash.unstashAll(collecting());
    }

    /** To the job's supervisor (wherever it lives now), or to an explicit reply_to. */
    private void reply(Solve cmd, MergeSupervisor.Command msg) {
        cmd.replyTo().ifPresentOrElse(r -> r.tell(msg), () -> toSupervisor.accept(msg));
    }

    /** One layer's solve, off the actor: it touches only what it is given and the node's job cache. */
    private static LayerSolved solve(JobCache cache, JobSpec spec, String target, int it, String previousHash,
                                     List<GramStatistics> perTask, double[] coef, EngineSettings.Faults faults) {
        long t0 = System.nanoTime();
        faults.beforeSolve();
        LayerMergeResult r;
        try (JobCache.Lease lease = cache.inputs(spec)) {
            Merger.LoadedJob job = lease.job();
            r = job.method().mergeLayer(job.inputs().layerInput(target, it, perTask, coef));
        }
        CheckpointStore store = new CheckpointStore(Path.of(spec.getStorePath()));
        String hash = store.put(r.delta());
        LayerSolved.Builder b = LayerSolved.newBuilder().setJobId(spec.getJobId()).setLayer(target).setIteration(it)
                .setContentHash(hash).setSolver(r.solver());
        if (r.carriedCoefficients() != null) {
            for (double c : r.carriedCoefficients()) {
                b.addCarriedCoefficients(c);
            }
        }
        if (r.factors() != null) {
            b.setFactorBHash(store.put(r.factors().b())).setFactorAHash(store.put(r.factors().a()));
        }
        if (!previousHash.isEmpty()) {
            b.setHasChange(true).setRelativeChange(Matrices.relativeError(store.get(previousHash), r.delta()));
        }
        for (Map.Entry<String, double[]> d : r.diagnostics().entrySet()) {
            DoubleList.Builder values = DoubleList.newBuilder();
            for (double v : d.getValue()) {
                values.addValues(v);
            }
            b.putDiagnostics(d.getKey(), values.build());
        }
        LOG.debug("layer {} solved iteration {} -> {}", target, it, hash);
        return b.setSolveNanos(System.nanoTime() - t0).build();
    }
}
