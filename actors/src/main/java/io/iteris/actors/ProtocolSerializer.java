package io.iteris.actors;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.iteris.actors.node.NodeAgent;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.actors.stream.ChunkSender;
import io.iteris.actors.worker.InferenceWorker;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.DescribeNode;
import io.iteris.protocol.DescribeLayer;
import io.iteris.protocol.JobEnded;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.LayerFailed;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.SubmitJob;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import io.iteris.protocol.SolveLayer;
import io.iteris.protocol.SolverJob;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.WorkUnit;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializerWithStringManifest;

import java.io.NotSerializableException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * Writes each typed command that crosses nodes ({@link Wire}) as the Protobuf message of {@code protocol/} it stands for,
 * and reads it back: the manifest names the command, the bytes are the message's (an actor ref as its serialization
 * format, as the {@code .proto} files have it). So the wire stays Protobuf, the contract between versions, while every
 * actor is typed on its own protocol.
 */
public final class ProtocolSerializer extends SerializerWithStringManifest {
    /** Pekko keeps 0..40 for itself. */
    static final int IDENTIFIER = 7301;

    /** How one command maps onto its message, under its manifest. */
    private record Codec<T extends Wire>(String manifest, BiFunction<T, ActorRefResolver, Message> write, Reader<T> read) {
    }

    @FunctionalInterface
    private interface Reader<T> {
        T read(byte[] bytes, ActorRefResolver refs) throws InvalidProtocolBufferException;
    }

    /** By manifest (reading) and by command type (writing: every statistic chunk passes here, so one lookup). */
    private static final Map<String, Codec<?>> CODECS = new LinkedHashMap<>();
    private static final Map<Class<?>, Codec<?>> BY_TYPE = new HashMap<>();

    private static <T extends Wire> void codec(String manifest, Class<T> type, BiFunction<T, ActorRefResolver, Message> write, Reader<T> read) {
        Codec<T> codec = new Codec<>(manifest, write, read);
        CODECS.put(manifest, codec);
        BY_TYPE.put(type, codec);
    }

    static {
        codec("supervisor.Submit", MergeSupervisor.Submit.class,
                (c, refs) -> SubmitJob.newBuilder().setSpec(c.spec()).setReplyTo(c.replyTo().map(refs::toSerializationFormat).orElse("")).build(),
                (b, refs) -> {
                    SubmitJob s = SubmitJob.parseFrom(b);
                    return new MergeSupervisor.Submit(s.getSpec(), s.getReplyTo().isEmpty() ? Optional.empty()
                            : Optional.of(refs.<JobProgress>resolveActorRef(s.getReplyTo())));
                });
        codec("supervisor.UnitDone", MergeSupervisor.UnitDone.class, (c, refs) -> c.done(),
                (b, refs) -> new MergeSupervisor.UnitDone(WorkUnitDone.parseFrom(b)));
        codec("supervisor.UnitFailed", MergeSupervisor.UnitFailed.class, (c, refs) -> c.failed(),
                (b, refs) -> new MergeSupervisor.UnitFailed(WorkUnitFailed.parseFrom(b)));
        codec("supervisor.Solved", MergeSupervisor.Solved.class, (c, refs) -> c.result(),
                (b, refs) -> new MergeSupervisor.Solved(LayerSolved.parseFrom(b)));
        codec("supervisor.Missing", MergeSupervisor.Missing.class, (c, refs) -> c.missing(),
                (b, refs) -> new MergeSupervisor.Missing(MissingStatistics.parseFrom(b)));
        codec("supervisor.SolveFailed", MergeSupervisor.SolveFailed.class, (c, refs) -> c.failure(),
                (b, refs) -> new MergeSupervisor.SolveFailed(LayerFailed.parseFrom(b)));
        codec("supervisor.Describe", MergeSupervisor.Describe.class, (c, refs) -> c.question(),
                (b, refs) -> new MergeSupervisor.Describe(DescribeLayer.parseFrom(b)));
        codec("solver.Chunk", LayerSolver.Chunk.class,
                (c, refs) -> c.chunk().toBuilder().setReplyTo(refs.toSerializationFormat(c.replyTo())).build(),
                (b, refs) -> {
                    StatisticChunk c = StatisticChunk.parseFrom(b);
                    return new LayerSolver.Chunk(c.toBuilder().clearReplyTo().build(), refs.resolveActorRef(c.getReplyTo()));
                });
        codec("solver.Solve", LayerSolver.Solve.class,
                (c, refs) -> c.request().toBuilder().setReplyTo(c.replyTo().map(refs::toSerializationFormat).orElse("")).build(),
                (b, refs) -> {
                    SolveLayer s = SolveLayer.parseFrom(b);
                    return new LayerSolver.Solve(s.toBuilder().clearReplyTo().build(), s.getReplyTo().isEmpty() ? Optional.empty()
                            : Optional.of(refs.<MergeSupervisor.Command>resolveActorRef(s.getReplyTo())));
                });
        codec("solver.Introduce", LayerSolver.Introduce.class, (c, refs) -> c.job(),
                (b, refs) -> new LayerSolver.Introduce(SolverJob.parseFrom(b)));
        codec("solver.EndJob", LayerSolver.EndJob.class, (c, refs) -> JobEnded.newBuilder().setJobId(c.jobId()).build(),
                (b, refs) -> new LayerSolver.EndJob(JobEnded.parseFrom(b).getJobId()));
        codec("worker.Assign", InferenceWorker.Assign.class, (c, refs) -> c.unit(),
                (b, refs) -> new InferenceWorker.Assign(WorkUnit.parseFrom(b)));
        codec("sender.Ack", ChunkSender.Ack.class, (c, refs) -> c.ack(),
                (b, refs) -> new ChunkSender.Ack(ChunkAck.parseFrom(b)));
        codec("agent.EndJob", NodeAgent.EndJob.class, (c, refs) -> JobEnded.newBuilder().setJobId(c.jobId()).build(),
                (b, refs) -> new NodeAgent.EndJob(JobEnded.parseFrom(b).getJobId()));
        codec("agent.Describe", NodeAgent.Describe.class,
                (c, refs) -> DescribeNode.newBuilder().setGc(c.gc()).setReplyTo(refs.toSerializationFormat(c.replyTo())).build(),
                (b, refs) -> {
                    DescribeNode d = DescribeNode.parseFrom(b);
                    return new NodeAgent.Describe(d.getGc(), refs.resolveActorRef(d.getReplyTo()));
                });
    }

    private final ExtendedActorSystem system;
    private volatile ActorRefResolver refs;

    public ProtocolSerializer(ExtendedActorSystem system) {
        this.system = system;
    }

    private ActorRefResolver refs() {
        if (refs == null) {
            refs = ActorRefResolver.get(Adapter.toTyped(system));
        }
        return refs;
    }

    @Override
    public int identifier() {
        return IDENTIFIER;
    }

    /** The manifests this serializer knows, for tests. */
    static java.util.Set<String> manifests() {
        return CODECS.keySet();
    }

    @SuppressWarnings("unchecked")
    private static Codec<Wire> codecOf(Object o) {
        Codec<?> codec = BY_TYPE.get(o.getClass());
        if (codec == null) {
            throw new IllegalArgumentException("no wire format for " + o.getClass().getName() + " (add it to ProtocolSerializer)");
        }
        return (Codec<Wire>) codec;
    }

    @Override
    public String manifest(Object o) {
        return codecOf(o).manifest();
    }

    @Override
    public byte[] toBinary(Object o) {
        return codecOf(o).write().apply((Wire) o, refs()).toByteArray();
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
        Codec<?> codec = CODECS.get(manifest);
        if (codec == null) {
            throw new NotSerializableException("unknown manifest '" + manifest + "' (a node of another iteris version?)");
        }
        try {
            return codec.read().read(bytes, refs());
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("a " + manifest + " message that does not parse: " + e.getMessage(), e);
        }
    }
}
