package io.iteris.bench.perf;

import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.stream.ChunkAssembler;
import io.iteris.actors.stream.ChunkSender;
import io.iteris.actors.stream.StatisticStreams;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKind;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sends one statistic from one node to another with the workers' own {@link ChunkSender} (Protobuf chunks
 * with CRCs, one ack per chunk, a bounded window in flight) and reassembles it as solvers do: for the transfer
 * test and {@code bench stream}. It travels as a C statistic: every value (a symmetric G or H would send half).
 */
public final class StreamProbe {
    /** What arrived and how long it took, sender start to last chunk assembled. */
    public record Transfer(INDArray received, long bytes, int chunks, double seconds) {
        public double mibPerSecond() {
            return bytes / seconds / (1 << 20);
        }
    }

    private StreamProbe() {
    }

    public static Transfer send(ActorSystem<?> from, ActorSystem<?> to, INDArray m, int chunkBytes, int window, String name) throws Exception {
        CompletableFuture<INDArray> received = new CompletableFuture<>();
        ActorRef<LayerSolver.Command> receiver = to.systemActorOf(receiver(received), "probe-receiver-" + name, Props.empty());
        String receiverRef = ActorRefResolver.get(to).toSerializationFormat(receiver);
        CompletableFuture<long[]> sent = new CompletableFuture<>();
        long t0 = System.nanoTime();
        from.systemActorOf(sender(m, receiverRef, chunkBytes, window, sent), "probe-sender-" + name, Props.empty());
        INDArray got = received.get(300, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long[] totals = sent.get(60, TimeUnit.SECONDS);
        return new Transfer(got, totals[0], (int) totals[1], seconds);
    }

    /**
     * Artery's own floor for the same bytes: {@code bytes} sent as plain {@code byte[]} messages of {@code chunkBytes}
     * (Pekko's byte-array serializer: no Protobuf, no checksum, no acks, no reassembly), timed from the first send to
     * the last byte's arrival. Returns seconds.
     */
    public static double sendRawBytes(ActorSystem<?> from, ActorSystem<?> to, long bytes, int chunkBytes, String name) throws Exception {
        CompletableFuture<Long> received = new CompletableFuture<>();
        ActorRef<Object> receiver = to.systemActorOf(Behaviors.setup(ctx -> {
            long[] got = {0};
            return Behaviors.receive(Object.class).onMessage(byte[].class, b -> {
                got[0] += b.length;
                if (got[0] >= bytes) {
                    received.complete(got[0]);
                    return Behaviors.stopped();
                }
                return Behaviors.same();
            }).build();
        }), "raw-receiver-" + name, Props.empty());
        ActorRef<Object> remote = ActorRefResolver.get(from).resolveActorRef(ActorRefResolver.get(to).toSerializationFormat(receiver));
        byte[] chunk = new byte[chunkBytes];
        long t0 = System.nanoTime();
        for (long sent = 0; sent < bytes; sent += chunkBytes) {
            // the same array every time: nothing writes it, so Artery may serialise it whenever it likes
            remote.tell(sent + chunkBytes <= bytes ? chunk : java.util.Arrays.copyOf(chunk, (int) (bytes - sent)));
        }
        received.get(300, TimeUnit.SECONDS);
        return (System.nanoTime() - t0) / 1e9;
    }

    private static Behavior<LayerSolver.Command> receiver(CompletableFuture<INDArray> done) {
        return Behaviors.setup(ctx -> {
            ChunkAssembler[] assembler = new ChunkAssembler[1];
            return Behaviors.receive(LayerSolver.Command.class).onMessage(LayerSolver.Chunk.class, chunk -> {
                StatisticChunk c = chunk.chunk();
                if (assembler[0] == null) {
                    assembler[0] = new ChunkAssembler(c);
                }
                boolean ok = assembler[0].accept(c);
                chunk.replyTo().tell(new ChunkSender.Ack(ChunkAck.newBuilder()
                        .setJobId(c.getJobId()).setKey(c.getKey()).setChunkIndex(c.getChunkIndex()).setAccepted(ok).build()));
                if (assembler[0].complete() && !done.isDone()) {
                    done.complete(assembler[0].matrix());
                    return Behaviors.stopped();
                }
                return Behaviors.same();
            }).build();
        });
    }

    /** The worker's own sender ({@link ChunkSender}) streaming to the receiver; completes with bytes and chunks sent. */
    private static Behavior<ChunkSender.Outcome> sender(INDArray m, String to, int chunkBytes, int window, CompletableFuture<long[]> done) {
        return Behaviors.setup(ctx -> {
            ActorRef<LayerSolver.Command> target = ActorRefResolver.get(ctx.getSystem()).resolveActorRef(to);
            ChunkSender.Settings settings = new ChunkSender.Settings(chunkBytes, window, Duration.ofSeconds(30), 3);
            ctx.spawn(ChunkSender.create("probe", List.of(new ChunkSender.Statistic(
                    StatisticStreams.key("probe", 0, 0, 0, StatisticKind.STATISTIC_C), m, 1)), settings, c -> target, ctx.getSelf()), "sender");
            return Behaviors.receive(ChunkSender.Outcome.class)
                    .onMessage(ChunkSender.Sent.class, sent -> {
                        done.complete(new long[]{sent.bytes(), sent.chunks()});
                        return Behaviors.stopped();
                    })
                    .onMessage(ChunkSender.NotSent.class, failed -> {
                        done.completeExceptionally(new IllegalStateException(failed.reason()));
                        return Behaviors.stopped();
                    })
                    .build();
        });
    }
}
