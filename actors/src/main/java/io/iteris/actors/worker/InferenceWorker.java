package io.iteris.actors.worker;

import com.google.protobuf.Message;
import io.iteris.actors.Entities;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.stream.ChunkSender;
import io.iteris.actors.stream.StatisticStreams;
import io.iteris.core.engine.ShardInference;
import io.iteris.core.model.onnx.Device;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.store.CheckpointStore;
import io.iteris.protocol.JobEnded;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.StatisticKind;
import io.iteris.protocol.StatisticsNotSent;
import io.iteris.protocol.StatisticsSent;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnit;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs forward passes for work units and streams each unit's per-layer statistics to the layer solvers
 * through a {@link ChunkSender} child. It keeps each job's shard features (the task models' layer inputs),
 * so a later iteration costs one forward pass, until the job ends ({@link JobEnded}, from its node agent).
 * Registered with the Receptionist under {@link Entities#WORKERS}; several run per node.
 *
 * <p>States: idle, or streaming one unit (new units queue). Accepts: {@link WorkUnit} (from the supervisor),
 * {@link StatisticsSent} / {@link StatisticsNotSent} (from its sender), {@link JobEnded}.
 */
public final class InferenceWorker {

    /** @param device where this worker runs the model (on a node with several GPUs, each worker its own) */
    public static Behavior<Message> create(EngineSettings settings, Device device) {
        return Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(Entities.WORKERS, ctx.getSelf()));
            return new InferenceWorker(ctx, settings, device).idle();
        });
    }

    /** A job this worker computes for: its inputs held, its shard features kept. */
    private record Held(JobCache.Lease lease, ShardInference inference) {
    }

    private final ActorContext<Message> ctx;
    private final EngineSettings settings;
    private final Device device;
    private final String self;
    private final ArrayDeque<WorkUnit> queue = new ArrayDeque<>();
    private final Map<String, Held> jobs = new HashMap<>();
    private final Set<String> done = new HashSet<>();

    private InferenceWorker(ActorContext<Message> ctx, EngineSettings settings, Device device) {
        this.ctx = ctx;
        this.settings = settings;
        this.device = device;
        this.self = ActorRefResolver.get(ctx.getSystem()).toSerializationFormat(ctx.getSelf());
    }

    private Behavior<Message> idle() {
        return Behaviors.receive(Message.class)
                .onMessage(WorkUnit.class, this::onWorkUnitWhenIdle)
                .onMessage(JobEnded.class, e -> onJobEnded(e, null))
                .build();
    }

    private Behavior<Message> streaming(WorkUnit unit, long inferenceNanos) {
        return Behaviors.receive(Message.class)
                .onMessage(WorkUnit.class, u -> onWorkUnitWhenBusy(unit, u))
                .onMessage(StatisticsSent.class, s -> onSent(unit, inferenceNanos, s))
                .onMessage(StatisticsNotSent.class, s -> onNotSent(unit, s))
                .onMessage(JobEnded.class, e -> onJobEnded(e, unit))
                .build();
    }

    private static String key(WorkUnit u) {
        UnitId id = u.getUnit();
        return u.getSpec().getJobId() + "/" + id.getIteration() + "/" + id.getTask() + "/" + id.getShard() + "/" + u.getIncludeG()
                + "/" + u.getAttempt();
    }

    private Behavior<Message> onWorkUnitWhenIdle(WorkUnit unit) {
        if (JobCache.ended(unit.getSpec().getJobId())) {
            return Behaviors.same();
        }
        if (done.contains(key(unit))) {
            // done before, and the report may have been lost with a supervisor's node: report again
            Entities.tellSupervisor(ctx.getSystem(), unit.getSpec().getJobId(), doneMessage(unit, 0, 0));
            return Behaviors.same();
        }
        return start(unit);
    }

    private Behavior<Message> onWorkUnitWhenBusy(WorkUnit current, WorkUnit unit) {
        if (JobCache.ended(unit.getSpec().getJobId()) || key(unit).equals(key(current))
                || queue.stream().anyMatch(q -> key(q).equals(key(unit)))) {
            return Behaviors.same();
        }
        if (done.contains(key(unit))) {
            Entities.tellSupervisor(ctx.getSystem(), unit.getSpec().getJobId(), doneMessage(unit, 0, 0));
        } else {
            queue.add(unit);
        }
        return Behaviors.same();
    }

    /** Computes a unit's statistics (on this actor's compute dispatcher) and hands them to a sender. */
    private Behavior<Message> start(WorkUnit unit) {
        List<ChunkSender.Statistic> out = new ArrayList<>();
        long t0 = System.nanoTime();
        try {
            Map<String, GramStatistics> stats = compute(unit);
            JobSpec spec = unit.getSpec();
            UnitId u = unit.getUnit();
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
        } catch (JobCache.JobEndedException e) {
            return next();
        } catch (RuntimeException e) {
            ctx.getLog().error("work unit {} failed", key(unit), e);
            reportFailed(unit, String.valueOf(e.getMessage()));
            return next();
        }
        long nanos = System.nanoTime() - t0;
        ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
        ctx.spawnAnonymous(ChunkSender.create(unit.getSpec().getJobId(), out, settings.chunkSender(),
                c -> sharding.entityRefFor(Entities.SOLVER, Entities.solverId(c.getJobId(), c.getKey().getLayer())), ctx.getSelf()));
        return streaming(unit, nanos);
    }

    private static ChunkSender.Statistic statistic(UnitId u, String layer, StatisticKind kind, INDArray m, long rows) {
        return new ChunkSender.Statistic(StatisticStreams.key(layer, u.getIteration(), u.getTask(), u.getShard(), kind), m, rows);
    }

    private Map<String, GramStatistics> compute(WorkUnit unit) {
        JobSpec spec = unit.getSpec();
        Held held = jobs.get(spec.getJobId());
        if (held == null) {
            JobCache.Lease lease = JobCache.job(spec, device);
            held = new Held(lease, new ShardInference(lease.job().inputs(), lease.job().runner(), lease.job().samples(), spec.getShardSize()));
            jobs.put(spec.getJobId(), held);
        }
        Map<String, INDArray> merged = null;
        if (unit.getUnit().getIteration() > 0) {
            CheckpointStore store = new CheckpointStore(Path.of(spec.getStorePath()));
            merged = new LinkedHashMap<>();
            for (String layer : spec.getLayersList()) {
                merged.put(layer, store.get(unit.getWeightsOrThrow(layer)));
            }
        }
        return held.inference().statistics(unit.getUnit().getTask(), unit.getUnit().getShard(), merged, unit.getIncludeG());
    }

    private Behavior<Message> onSent(WorkUnit unit, long inferenceNanos, StatisticsSent sent) {
        done.add(key(unit));
        Entities.tellSupervisor(ctx.getSystem(), unit.getSpec().getJobId(), doneMessage(unit, inferenceNanos, sent.getBytes()));
        return next();
    }

    private Behavior<Message> onNotSent(WorkUnit unit, StatisticsNotSent failed) {
        reportFailed(unit, failed.getReason());
        return next();
    }

    /** Drops what this worker keeps of an ended job; a unit of it still streaming finishes on its own. */
    private Behavior<Message> onJobEnded(JobEnded e, WorkUnit current) {
        String id = e.getJobId();
        Held held = jobs.remove(id);
        if (held != null) {
            held.lease().close();
        }
        done.removeIf(k -> k.startsWith(id + "/"));
        queue.removeIf(u -> u.getSpec().getJobId().equals(id));
        return Behaviors.same();
    }

    private void reportFailed(WorkUnit unit, String reason) {
        Entities.tellSupervisor(ctx.getSystem(), unit.getSpec().getJobId(), WorkUnitFailed.newBuilder()
                .setJobId(unit.getSpec().getJobId()).setUnit(unit.getUnit()).setWorker(self).setReason(reason).build());
    }

    private WorkUnitDone doneMessage(WorkUnit unit, long nanos, long bytes) {
        return WorkUnitDone.newBuilder().setJobId(unit.getSpec().getJobId()).setUnit(unit.getUnit()).setWorker(self)
                .setInferenceNanos(nanos).setBytesSent(bytes).build();
    }

    private Behavior<Message> next() {
        WorkUnit unit = queue.poll();
        return unit == null ? idle() : start(unit);
    }
}
