package io.iteris.actors.solver;

import com.google.protobuf.Message;
import io.iteris.actors.Entities;
import io.iteris.actors.metrics.NodeMetrics;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.stream.ChunkAssembler;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.store.CheckpointStore;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.DescribeLayer;
import io.iteris.protocol.DoubleList;
import io.iteris.protocol.JobEnded;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerFailed;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.SolveLayer;
import io.iteris.protocol.SolverIdle;
import io.iteris.protocol.SolverJob;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKey;
import io.iteris.protocol.StatisticKind;
import io.iteris.protocol.UnitId;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Owns one layer of one job (sharded by {@link Entities#solverId}, remember-entities on). It collects the
 * statistic contributions of every (iteration, task, shard, kind), each counted once however often it arrives, into
 * running sums taken in shard order ({@link ShardSum}: one in×in matrix per statistic, whatever the number of
 * shards), and on {@link SolveLayer} solves, stores ΔW in the checkpoint store and reports {@link LayerSolved} to the
 * supervisor. Layers that read the same input share one solver: the one of the group's first layer
 * ({@link JobSpecs#statisticsLayer}), which holds the statistics once and solves every layer of the group.
 * G = XᵀX is summed once (iteration 0, or when refilled) and kept, and so are the adaptive coefficients of each
 * layer's first solve: both depend only on the task models, which never change. What it lacks (never sent, or
 * lost when its node died) it
 * names in {@link MissingStatistics}, and the supervisor has it recomputed.
 *
 * <p>It takes statistics only once it knows its job ({@link SolverJob}, or the spec of a {@link SolveLayer}):
 * every chunk is checked against the layer's shape and the job's plan before anything is allocated, and
 * until then chunks are answered "retry later" while it asks the supervisor ({@link DescribeLayer}). A solver
 * that stays idle without knowing its job (revived by remember-entities, perhaps for a job that is over) asks too,
 * after {@link #IDLE_CHECK}. It never asks when it starts: a solver started by the {@link JobEnded} that answers such
 * a question would ask again and again. On {@link JobEnded} it passivates.
 *
 * <p>Accepts: {@link StatisticChunk} (acked to the sending worker), {@link SolveLayer}, {@link SolverJob}, {@link JobEnded}.
 */
public final class LayerSolver extends AbstractBehavior<Message> {

    /** How long a solver that does not know its job waits for a message before it asks the supervisor. */
    public static final Duration IDLE_CHECK = Duration.ofSeconds(10);

    public static void initSharding(ActorSystem<?> system) {
        ClusterSharding.get(system).init(Entity.of(Entities.SOLVER, ctx -> create(ctx.getEntityId(),
                        m -> Entities.tellSupervisor(system, Entities.jobOf(ctx.getEntityId()), m),
                        self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self)), IDLE_CHECK))
                .withRole("solver")
                .withEntityProps(DispatcherSelector.fromConfig("iteris.compute-dispatcher")));
    }

    /**
     * @param toSupervisor how this solver reaches its job's supervisor
     * @param passivate    how it asks to be stopped for good (its shard's Passivate)
     * @param idleCheck    how long it waits, not knowing its job and receiving nothing, before it asks
     */
    public static Behavior<Message> create(String entityId, Consumer<Message> toSupervisor, Consumer<ActorRef<Message>> passivate,
                                           Duration idleCheck) {
        return Behaviors.setup(ctx -> {
            ctx.setReceiveTimeout(idleCheck, SolverIdle.getDefaultInstance());
            return new LayerSolver(ctx, entityId, toSupervisor, passivate);
        });
    }

    /** Which running sum a C or H contribution goes into. */
    private record SumKey(int iteration, int task, StatisticKind kind) {
    }

    private final String jobId;
    private final String layer;
    private final Consumer<Message> toSupervisor;
    private final Consumer<ActorRef<Message>> passivate;
    private final ActorRefResolver refs;
    private final Map<StatisticKey, ChunkAssembler> assembling = new HashMap<>();
    /** Per task, G summed over its shards. */
    private final Map<Integer, ShardSum> g = new HashMap<>();
    private final Map<SumKey, ShardSum> merged = new HashMap<>();
    /** Per layer of the group, the adaptive coefficients of its first solve here, handed to every later one. */
    private final Map<String, double[]> coefficients = new HashMap<>();
    /** Per layer of the group, its answers by iteration. */
    private final Map<String, Map<Integer, LayerSolved>> solved = new HashMap<>();
    /** The last iteration every layer of the group has solved: C and H up to it are no longer needed. */
    private int solvedUpTo = -1;
    /** The layers solved from this solver's statistics: its own and those sharing its input, in job order. */
    private List<String> members = List.of();
    /** The job, once known; statistics are refused (retry later) until then. */
    private JobSpec spec;
    private int dim;

    private LayerSolver(ActorContext<Message> ctx, String entityId, Consumer<Message> toSupervisor, Consumer<ActorRef<Message>> passivate) {
        super(ctx);
        this.jobId = Entities.jobOf(entityId);
        this.layer = Entities.layerOf(entityId);
        this.toSupervisor = toSupervisor;
        this.passivate = passivate;
        this.refs = ActorRefResolver.get(ctx.getSystem());
    }

    private void describe() {
        toSupervisor.accept(DescribeLayer.newBuilder().setJobId(jobId).setLayer(layer).build());
    }

    @Override
    public Receive<Message> createReceive() {
        return newReceiveBuilder()
                .onMessage(StatisticChunk.class, this::onChunk)
                .onMessage(SolveLayer.class, this::onSolveLayer)
                .onMessage(SolverJob.class, j -> {
                    learn(j.getSpec());
                    return this;
                })
                .onMessage(JobEnded.class, this::onJobEnded)
                .onMessage(SolverIdle.class, idle -> {
                    if (spec == null) {
                        describe();
                    }
                    return this;
                })
                .build();
    }

    private void learn(JobSpec s) {
        if (spec != null || !s.getJobId().equals(jobId)) {
            return;
        }
        int i = s.getLayersList().indexOf(layer);
        if (i < 0 || i >= s.getLayerInputsCount() || !JobSpecs.statisticsLayer(s, layer).equals(layer)) {
            getContext().getLog().warn("layer {}: job {} has no such layer (or no shape for it, or it takes another's statistics)",
                    layer, jobId);
            return;
        }
        spec = s;
        members = s.getLayersList().stream().filter(l -> JobSpecs.statisticsLayer(s, l).equals(layer)).toList();
        dim = s.getLayerInputs(i);
        getContext().cancelReceiveTimeout();
    }

    private Behavior<Message> onJobEnded(JobEnded e) {
        getContext().cancelReceiveTimeout();
        assembling.clear();
        g.clear();
        merged.clear();
        passivate.accept(getContext().getSelf());
        return this;
    }

    private Behavior<Message> onChunk(StatisticChunk c) {
        StatisticKey key = c.getKey();
        ChunkAck.Builder ack = ChunkAck.newBuilder().setJobId(c.getJobId()).setKey(key).setChunkIndex(c.getChunkIndex()).setAccepted(true);
        if (spec == null) {
            ack.setAccepted(false).setRetryLater(true);
            describe();
        } else if (!isStale(key)) {
            String bad = check(c);
            ChunkAssembler a = bad != null ? null : assembling.computeIfAbsent(key, k -> new ChunkAssembler(c));
            if (bad != null || !a.accept(c)) {
                ack.setAccepted(false);
                getContext().getLog().warn("layer {}: refused chunk {} #{}: {}", layer, key, c.getChunkIndex(),
                        bad != null ? bad : "corrupted, or inconsistent with its statistic's other chunks");
            } else {
                NodeMetrics.get(getContext().getSystem()).received(c.getData().size());
                if (a.complete()) {
                    assembling.remove(key);
                    sumOf(key).add(key.getShard(), a.matrix(), a.rows());
                }
            }
        }
        refs.<Message>resolveActorRef(c.getReplyTo()).tell(ack.build());
        return this;
    }

    /** Why a chunk does not fit this job's plan and layer shape (checked before anything is allocated), or null. */
    private String check(StatisticChunk c) {
        StatisticKey k = c.getKey();
        if (!c.getJobId().equals(jobId) || !k.getLayer().equals(layer)) {
            return "it is for " + c.getJobId() + " / " + k.getLayer();
        }
        if (c.getDim() != dim) {
            return "it announces a " + c.getDim() + "x" + c.getDim() + " statistic but the layer has " + dim + " inputs";
        }
        if (k.getTask() < 0 || k.getTask() >= spec.getShardsPerTaskCount() || k.getShard() < 0
                || k.getShard() >= spec.getShardsPerTask(k.getTask())) {
            return "task " + k.getTask() + " shard " + k.getShard() + " is not in the job's plan";
        }
        if (k.getIteration() < 0 || k.getIteration() >= spec.getIterations()) {
            return "iteration " + k.getIteration() + " is not in the job's plan";
        }
        if (c.getChunkCount() <= 0 || c.getChunkCount() > (long) dim * dim || c.getRows() < 0) {
            return "it claims " + c.getChunkCount() + " chunks and " + c.getRows() + " rows";
        }
        return null;
    }

    /** A contribution nobody needs any more: a G already held, or C/H of an iteration already solved or held. */
    private boolean isStale(StatisticKey key) {
        if (key.getKind() == StatisticKind.STATISTIC_G) {
            return has(g.get(key.getTask()), key.getShard());
        }
        return key.getIteration() <= solvedUpTo || has(merged.get(sumKey(key.getIteration(), key.getTask(), key.getKind())), key.getShard());
    }

    private static boolean has(ShardSum sum, int shard) {
        return sum != null && sum.has(shard);
    }

    private static SumKey sumKey(int iteration, int task, StatisticKind kind) {
        return new SumKey(iteration, task, kind);
    }

    /** The running sum a (checked) contribution goes into. */
    private ShardSum sumOf(StatisticKey key) {
        int shards = spec.getShardsPerTask(key.getTask());
        if (key.getKind() == StatisticKind.STATISTIC_G) {
            return g.computeIfAbsent(key.getTask(), t -> new ShardSum(shards));
        }
        return merged.computeIfAbsent(sumKey(key.getIteration(), key.getTask(), key.getKind()), k -> new ShardSum(shards));
    }

    private Behavior<Message> onSolveLayer(SolveLayer cmd) {
        learn(cmd.getSpec());
        int it = cmd.getIteration();
        String target = cmd.getLayer();
        if (spec == null || !members.contains(target)) {
            reply(cmd, LayerFailed.newBuilder().setJobId(jobId).setLayer(target).setIteration(it)
                    .setReason("the solver of " + layer + " does not solve " + target + " (it is not in the job, or takes other statistics)").build());
            return this;
        }
        LayerSolved done = solved.getOrDefault(target, Map.of()).get(it);
        if (done == null) {
            List<MissingUnit> missing = missing(it);
            if (!missing.isEmpty()) {
                reply(cmd, MissingStatistics.newBuilder()
                        .setJobId(jobId).setLayer(target).setIteration(it).addAllMissing(missing).build());
                return this;
            }
            try {
                done = solve(target, it, cmd.getPreviousHash());
            } catch (JobCache.JobEndedException e) {
                return this;
            } catch (RuntimeException e) {
                getContext().getLog().error("layer {}: solve of iteration {} failed", target, it, e);
                reply(cmd, LayerFailed.newBuilder().setJobId(jobId)
                        .setLayer(target).setIteration(it).setReason(String.valueOf(e.getMessage())).build());
                return this;
            }
            solved.computeIfAbsent(target, l -> new HashMap<>()).put(it, done);
            if (members.stream().allMatch(l -> solved.getOrDefault(l, Map.of()).containsKey(it))) {
                solvedUpTo = Math.max(solvedUpTo, it);
                merged.keySet().removeIf(k -> k.iteration() <= it);
            }
        }
        reply(cmd, done);
        return this;
    }

    /** To the job's supervisor (wherever it lives now), or to an explicit reply_to. */
    private void reply(SolveLayer cmd, Message msg) {
        if (cmd.getReplyTo().isEmpty()) {
            toSupervisor.accept(msg);
        } else {
            refs.<Message>resolveActorRef(cmd.getReplyTo()).tell(msg);
        }
    }

    private List<MissingUnit> missing(int it) {
        List<MissingUnit> out = new ArrayList<>();
        for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
            for (int s = 0; s < spec.getShardsPerTask(t); s++) {
                boolean needG = !has(g.get(t), s);
                boolean needMerged = it > 0 && (!has(merged.get(sumKey(it, t, StatisticKind.STATISTIC_C)), s)
                        || !has(merged.get(sumKey(it, t, StatisticKind.STATISTIC_H)), s));
                if (needG || needMerged) {
                    out.add(MissingUnit.newBuilder().setIncludeG(needG)
                            .setUnit(UnitId.newBuilder().setIteration(it).setTask(t).setShard(s)).build());
                }
            }
        }
        return out;
    }

    private LayerSolved solve(String target, int it, String previousHash) {
        long t0 = System.nanoTime();
        List<GramStatistics> perTask = null;
        if (spec.getShardsPerTaskCount() > 0) {
            perTask = new ArrayList<>();
            for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
                ShardSum gs = g.get(t);
                perTask.add(it == 0 ? new GramStatistics(gs.sum(), gs.sum(), gs.sum(), gs.rows())
                        : new GramStatistics(gs.sum(), merged.get(sumKey(it, t, StatisticKind.STATISTIC_C)).sum(),
                        merged.get(sumKey(it, t, StatisticKind.STATISTIC_H)).sum(), gs.rows()));
            }
        }
        LayerMergeResult r;
        try (JobCache.Lease lease = JobCache.inputs(spec)) {
            Merger.LoadedJob job = lease.job();
            r = job.method().mergeLayer(job.inputs().layerInput(target, it, perTask, coefficients.get(target)));
        }
        if (r.diagnostics().containsKey("coef")) {
            coefficients.putIfAbsent(target, r.diagnostics().get("coef"));
        }
        CheckpointStore store = new CheckpointStore(Path.of(spec.getStorePath()));
        String hash = store.put(r.delta());
        LayerSolved.Builder b = LayerSolved.newBuilder().setJobId(jobId).setLayer(target).setIteration(it)
                .setContentHash(hash).setSolver(r.solver());
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
        getContext().getLog().debug("layer {} solved iteration {} -> {}", target, it, hash);
        return b.setSolveNanos(System.nanoTime() - t0).build();
    }
}
