package io.iteris.actors.solver;

import com.google.protobuf.Message;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.stream.ChunkAssembler;
import io.iteris.actors.stream.StatisticStreams;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.core.engine.Merger;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.store.CheckpointStore;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.DoubleList;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerFailed;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.SolveLayer;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKey;
import io.iteris.protocol.StatisticKind;
import io.iteris.protocol.UnitId;
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
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Owns one layer of one job (sharded by "jobId|layer", remember-entities on). It collects the statistic
 * contributions of every (iteration, task, shard, kind), each counted once however often it arrives, and on
 * {@link SolveLayer} sums each task's shards in shard order, solves, stores ΔW in the checkpoint store and
 * reports {@link LayerSolved} to the supervisor. What it lacks (never sent, or lost when its node died) it
 * names in {@link MissingStatistics}, and the supervisor has it recomputed.
 *
 * <p>Accepts: {@link StatisticChunk} (acked to the sending worker), {@link SolveLayer}.
 */
public final class LayerSolver extends AbstractBehavior<Message> {
    public static final EntityTypeKey<Message> TYPE_KEY = EntityTypeKey.create(Message.class, "LayerSolver");

    public static void initSharding(ActorSystem<?> system) {
        ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId()))
                .withRole("solver")
                .withEntityProps(DispatcherSelector.fromConfig("iteris.compute-dispatcher")));
    }

    public static String entityId(String jobId, String layer) {
        return jobId + "|" + layer;
    }

    public static Behavior<Message> create(String entityId) {
        return Behaviors.setup(ctx -> new LayerSolver(ctx, entityId));
    }

    private record Shard(int task, int shard) {
    }

    private record Contribution(INDArray matrix, long rows) {
    }

    private final String layer;
    private final ActorRefResolver refs;
    private final Map<StatisticKey, ChunkAssembler> assembling = new HashMap<>();
    private final Map<Shard, Contribution> g = new HashMap<>();
    private final Map<StatisticKey, Contribution> merged = new HashMap<>();
    private final Map<Integer, LayerSolved> solved = new HashMap<>();
    private int solvedUpTo = -1;

    private LayerSolver(ActorContext<Message> ctx, String entityId) {
        super(ctx);
        this.layer = entityId.substring(entityId.indexOf('|') + 1);
        this.refs = ActorRefResolver.get(ctx.getSystem());
    }

    @Override
    public Receive<Message> createReceive() {
        return newReceiveBuilder()
                .onMessage(StatisticChunk.class, this::onChunk)
                .onMessage(SolveLayer.class, this::onSolveLayer)
                .build();
    }

    private Behavior<Message> onChunk(StatisticChunk c) {
        StatisticKey key = c.getKey();
        boolean accepted = true;
        if (!isStale(key)) {
            ChunkAssembler a = assembling.computeIfAbsent(key, k -> new ChunkAssembler(c));
            accepted = a.accept(c);
            if (a.complete()) {
                assembling.remove(key);
                Contribution done = new Contribution(a.matrix(), a.rows());
                if (key.getKind() == StatisticKind.STATISTIC_G) {
                    g.putIfAbsent(new Shard(key.getTask(), key.getShard()), done);
                } else {
                    merged.putIfAbsent(key, done);
                }
            }
        }
        if (!accepted) {
            getContext().getLog().warn("layer {}: refused a corrupted or inconsistent chunk {} #{}", layer, key, c.getChunkIndex());
        }
        refs.<Message>resolveActorRef(c.getReplyTo()).tell(ChunkAck.newBuilder().setJobId(c.getJobId()).setKey(key)
                .setChunkIndex(c.getChunkIndex()).setAccepted(accepted).build());
        return this;
    }

    /** A contribution nobody needs any more: a G already held, or C/H of an iteration already solved. */
    private boolean isStale(StatisticKey key) {
        if (key.getKind() == StatisticKind.STATISTIC_G) {
            return g.containsKey(new Shard(key.getTask(), key.getShard()));
        }
        return key.getIteration() <= solvedUpTo || merged.containsKey(key);
    }

    private Behavior<Message> onSolveLayer(SolveLayer cmd) {
        JobSpec spec = cmd.getSpec();
        int it = cmd.getIteration();
        LayerSolved done = solved.get(it);
        if (done == null) {
            List<MissingUnit> missing = missing(spec, it);
            if (!missing.isEmpty()) {
                reply(cmd, MissingStatistics.newBuilder()
                        .setJobId(spec.getJobId()).setLayer(layer).setIteration(it).addAllMissing(missing).build());
                return this;
            }
            try {
                done = solve(spec, it, cmd.getPreviousHash());
            } catch (RuntimeException e) {
                getContext().getLog().error("layer {}: solve of iteration {} failed", layer, it, e);
                reply(cmd, LayerFailed.newBuilder().setJobId(spec.getJobId())
                        .setLayer(layer).setIteration(it).setReason(String.valueOf(e.getMessage())).build());
                return this;
            }
            solved.put(it, done);
            solvedUpTo = Math.max(solvedUpTo, it);
            merged.keySet().removeIf(k -> k.getIteration() <= it);
        }
        reply(cmd, done);
        return this;
    }

    /** To the job's supervisor through sharding (wherever it lives now), or to an explicit reply_to. */
    private void reply(SolveLayer cmd, Message msg) {
        if (cmd.getReplyTo().isEmpty()) {
            MergeSupervisor.tell(getContext().getSystem(), cmd.getSpec().getJobId(), msg);
        } else {
            refs.<Message>resolveActorRef(cmd.getReplyTo()).tell(msg);
        }
    }

    private List<MissingUnit> missing(JobSpec spec, int it) {
        List<MissingUnit> out = new ArrayList<>();
        for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
            for (int s = 0; s < spec.getShardsPerTask(t); s++) {
                boolean needG = !g.containsKey(new Shard(t, s));
                boolean needMerged = it > 0 && (!merged.containsKey(key(it, t, s, StatisticKind.STATISTIC_C))
                        || !merged.containsKey(key(it, t, s, StatisticKind.STATISTIC_H)));
                if (needG || needMerged) {
                    out.add(MissingUnit.newBuilder().setIncludeG(needG)
                            .setUnit(UnitId.newBuilder().setIteration(it).setTask(t).setShard(s)).build());
                }
            }
        }
        return out;
    }

    private StatisticKey key(int it, int task, int shard, StatisticKind kind) {
        return StatisticStreams.key(layer, it, task, shard, kind);
    }

    private LayerSolved solve(JobSpec spec, int it, String previousHash) {
        long t0 = System.nanoTime();
        Merger.LoadedJob job = JobCache.get(spec);
        List<GramStatistics> perTask = null;
        if (spec.getShardsPerTaskCount() > 0) {
            perTask = new ArrayList<>();
            for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
                List<GramStatistics> shards = new ArrayList<>();
                for (int s = 0; s < spec.getShardsPerTask(t); s++) {
                    Contribution gs = g.get(new Shard(t, s));
                    if (it == 0) {
                        shards.add(new GramStatistics(gs.matrix(), gs.matrix(), gs.matrix(), gs.rows()));
                    } else {
                        shards.add(new GramStatistics(gs.matrix(), merged.get(key(it, t, s, StatisticKind.STATISTIC_C)).matrix(),
                                merged.get(key(it, t, s, StatisticKind.STATISTIC_H)).matrix(), gs.rows()));
                    }
                }
                perTask.add(GramStatistics.sumInOrder(shards));
            }
        }
        LayerMergeResult r = job.method().mergeLayer(job.inputs().layerInput(layer, it, perTask));
        CheckpointStore store = new CheckpointStore(Path.of(spec.getStorePath()));
        String hash = store.put(r.delta());
        LayerSolved.Builder b = LayerSolved.newBuilder().setJobId(spec.getJobId()).setLayer(layer).setIteration(it)
                .setContentHash(hash).setSolver(r.solver());
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
        getContext().getLog().debug("layer {} solved iteration {} -> {}", layer, it, hash);
        return b.setSolveNanos(System.nanoTime() - t0).build();
    }
}
