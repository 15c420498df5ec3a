package io.iteris.actors.worker;

import com.google.protobuf.Message;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.stream.StatisticStreams;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.core.engine.Merger;
import io.iteris.core.engine.ShardInference;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.store.CheckpointStore;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKey;
import io.iteris.protocol.StatisticKind;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnit;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import io.iteris.protocol.WorkerTick;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Runs forward passes for work units and streams each unit's per-layer statistics to the layer solvers,
 * a bounded number of chunks in flight, re-sending those whose acks are late. It keeps each shard's
 * task-model features, so a later iteration costs one forward pass; after a restart it recomputes them.
 * Registered with the Receptionist under {@link #SERVICE_KEY}; several run per node.
 *
 * <p>Accepts: {@link WorkUnit} (from the supervisor), {@link ChunkAck} (from solvers), {@link WorkerTick} (own timer).
 */
public final class InferenceWorker {
    public static final ServiceKey<Message> SERVICE_KEY = ServiceKey.create(Message.class, "iteris-inference-worker");

    public static Behavior<Message> create(EngineSettings settings) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, ctx.getSelf()));
            timers.startTimerWithFixedDelay(WorkerTick.getDefaultInstance(), settings.ackTimeout().dividedBy(2));
            return new InferenceWorker(ctx, settings).idle();
        }));
    }

    private record ChunkId(StatisticKey key, int index) {
        static ChunkId of(ChunkAck a) {
            return new ChunkId(a.getKey(), a.getChunkIndex());
        }

        static ChunkId of(StatisticChunk c) {
            return new ChunkId(c.getKey(), c.getChunkIndex());
        }
    }

    private static final class Sent {
        final StatisticChunk chunk;
        long sentAt;
        int retries;

        Sent(StatisticChunk chunk) {
            this.chunk = chunk;
            this.sentAt = System.nanoTime();
        }
    }

    /** A statistic not yet cut into chunks. */
    private record Unsent(StatisticKey key, INDArray matrix, long rows) {
    }

    /**
     * The unit being streamed: statistics not yet cut into chunks (one is cut at a time, so a unit's chunks
     * never all sit in memory at once), chunks not yet sent, and those sent but not acknowledged.
     */
    private static final class Streaming {
        final WorkUnit unit;
        final ArrayDeque<Unsent> unsent = new ArrayDeque<>();
        final ArrayDeque<StatisticChunk> pending = new ArrayDeque<>();
        final Map<ChunkId, Sent> inFlight = new LinkedHashMap<>();
        long inferenceNanos;
        long bytes;

        Streaming(WorkUnit unit) {
            this.unit = unit;
        }
    }

    private final ActorContext<Message> ctx;
    private final EngineSettings settings;
    private final String self;
    private final ArrayDeque<WorkUnit> queue = new ArrayDeque<>();
    private final Map<String, ShardInference> inference = new HashMap<>();
    private final Set<String> done = new HashSet<>();

    private InferenceWorker(ActorContext<Message> ctx, EngineSettings settings) {
        this.ctx = ctx;
        this.settings = settings;
        this.self = ActorRefResolver.get(ctx.getSystem()).toSerializationFormat(ctx.getSelf());
    }

    private Behavior<Message> idle() {
        return Behaviors.receive(Message.class)
                .onMessage(WorkUnit.class, this::onWorkUnitWhenIdle)
                .onMessage(ChunkAck.class, ack -> Behaviors.same())
                .onMessage(WorkerTick.class, tick -> Behaviors.same())
                .build();
    }

    private Behavior<Message> streaming(Streaming s) {
        return Behaviors.receive(Message.class)
                .onMessage(WorkUnit.class, unit -> onWorkUnitWhenBusy(s, unit))
                .onMessage(ChunkAck.class, ack -> onChunkAck(s, ack))
                .onMessage(WorkerTick.class, tick -> onTick(s))
                .build();
    }

    private static String key(WorkUnit u) {
        UnitId id = u.getUnit();
        return u.getSpec().getJobId() + "/" + id.getIteration() + "/" + id.getTask() + "/" + id.getShard() + "/" + u.getIncludeG()
                + "/" + u.getAttempt();
    }

    private Behavior<Message> onWorkUnitWhenIdle(WorkUnit unit) {
        if (done.contains(key(unit))) {
            // done before, and the report may have been lost with a supervisor's node: report again
            MergeSupervisor.tell(ctx.getSystem(), unit.getSpec().getJobId(), doneMessage(unit, 0, 0));
            return Behaviors.same();
        }
        return start(unit);
    }

    private Behavior<Message> onWorkUnitWhenBusy(Streaming s, WorkUnit unit) {
        if (key(unit).equals(key(s.unit)) || queue.stream().anyMatch(q -> key(q).equals(key(unit)))) {
            return Behaviors.same();
        }
        if (done.contains(key(unit))) {
            MergeSupervisor.tell(ctx.getSystem(), unit.getSpec().getJobId(), doneMessage(unit, 0, 0));
        } else {
            queue.add(unit);
        }
        return Behaviors.same();
    }

    /** Computes a unit's statistics and starts streaming them; the compute runs on this actor's dispatcher. */
    private Behavior<Message> start(WorkUnit unit) {
        Streaming s = new Streaming(unit);
        try {
            long t0 = System.nanoTime();
            Map<String, GramStatistics> stats = compute(unit);
            s.inferenceNanos = System.nanoTime() - t0;
            JobSpec spec = unit.getSpec();
            int it = unit.getUnit().getIteration();
            for (String layer : spec.getLayersList()) {
                GramStatistics g = stats.get(layer);
                if (unit.getIncludeG() || it == 0) {
                    add(s, layer, StatisticKind.STATISTIC_G, g.g(), g.rows());
                }
                if (it > 0) {
                    add(s, layer, StatisticKind.STATISTIC_C, g.c(), g.rows());
                    add(s, layer, StatisticKind.STATISTIC_H, g.h(), g.rows());
                }
            }
        } catch (RuntimeException e) {
            ctx.getLog().error("work unit {} failed", key(unit), e);
            MergeSupervisor.tell(ctx.getSystem(), unit.getSpec().getJobId(), WorkUnitFailed.newBuilder()
                    .setJobId(unit.getSpec().getJobId()).setUnit(unit.getUnit()).setWorker(self)
                    .setReason(String.valueOf(e.getMessage())).build());
            return next();
        }
        fill(s);
        return s.inFlight.isEmpty() ? finish(s) : streaming(s);
    }

    private Map<String, GramStatistics> compute(WorkUnit unit) {
        JobSpec spec = unit.getSpec();
        Merger.LoadedJob job = JobCache.get(spec);
        ShardInference inf = inference.computeIfAbsent(spec.getJobId(),
                id -> new ShardInference(job.inputs(), job.runner(), job.samples(), spec.getShardSize()));
        Map<String, INDArray> merged = null;
        if (unit.getUnit().getIteration() > 0) {
            CheckpointStore store = new CheckpointStore(Path.of(spec.getStorePath()));
            merged = new LinkedHashMap<>();
            for (String layer : spec.getLayersList()) {
                merged.put(layer, store.get(unit.getWeightsOrThrow(layer)));
            }
        }
        return inf.statistics(unit.getUnit().getTask(), unit.getUnit().getShard(), merged);
    }

    private void add(Streaming s, String layer, StatisticKind kind, INDArray m, long rows) {
        UnitId u = s.unit.getUnit();
        StatisticKey key = StatisticStreams.key(layer, u.getIteration(), u.getTask(), u.getShard(), kind);
        s.unsent.add(new Unsent(key, m, rows));
        s.bytes += m.length() * Double.BYTES;
    }

    /** Sends pending chunks until the in-flight window is full, cutting the next statistic when they run out. */
    private void fill(Streaming s) {
        while (s.inFlight.size() < settings.maxInFlightChunks() && (!s.pending.isEmpty() || !s.unsent.isEmpty())) {
            if (s.pending.isEmpty()) {
                Unsent next = s.unsent.poll();
                s.pending.addAll(StatisticStreams.chunks(s.unit.getSpec().getJobId(), next.key(), next.matrix(), next.rows(),
                        settings.chunkBytes(), self));
                continue;
            }
            StatisticChunk c = s.pending.poll();
            s.inFlight.put(ChunkId.of(c), new Sent(c));
            send(c);
        }
    }

    private void send(StatisticChunk c) {
        ClusterSharding.get(ctx.getSystem()).entityRefFor(LayerSolver.TYPE_KEY, LayerSolver.entityId(c.getJobId(), c.getKey().getLayer())).tell(c);
    }

    private Behavior<Message> onChunkAck(Streaming s, ChunkAck ack) {
        Sent sent = s.inFlight.get(ChunkId.of(ack));
        if (sent == null || !ack.getJobId().equals(s.unit.getSpec().getJobId())) {
            return Behaviors.same();
        }
        if (!ack.getAccepted()) {
            return resend(s, sent, "refused by the solver");
        }
        s.inFlight.remove(ChunkId.of(ack));
        fill(s);
        return s.inFlight.isEmpty() ? finish(s) : Behaviors.same();
    }

    private Behavior<Message> onTick(Streaming s) {
        long now = System.nanoTime();
        for (Sent sent : s.inFlight.values().toArray(new Sent[0])) {
            if (now - sent.sentAt > settings.ackTimeout().toNanos()) {
                Behavior<Message> b = resend(s, sent, "ack overdue");
                if (b != Behaviors.<Message>same()) {
                    return b;
                }
            }
        }
        return Behaviors.same();
    }

    private Behavior<Message> resend(Streaming s, Sent sent, String why) {
        if (++sent.retries > settings.maxChunkRetries()) {
            MergeSupervisor.tell(ctx.getSystem(), s.unit.getSpec().getJobId(), WorkUnitFailed.newBuilder()
                    .setJobId(s.unit.getSpec().getJobId()).setUnit(s.unit.getUnit()).setWorker(self)
                    .setReason("chunk " + ChunkId.of(sent.chunk) + " " + why + " " + sent.retries + " times").build());
            return next();
        }
        sent.sentAt = System.nanoTime();
        send(sent.chunk);
        return Behaviors.same();
    }

    private Behavior<Message> finish(Streaming s) {
        done.add(key(s.unit));
        MergeSupervisor.tell(ctx.getSystem(), s.unit.getSpec().getJobId(), doneMessage(s.unit, s.inferenceNanos, s.bytes));
        return next();
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
