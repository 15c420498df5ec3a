package io.iteris.actors.stream;

import com.google.protobuf.Message;
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

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sends one statistic from one node to another exactly as workers stream to solvers (Protobuf chunks with
 * CRCs, one ack per chunk, a bounded window in flight) and reassembles it: for the transfer test and
 * {@code bench stream}.
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
        ActorRef<Message> receiver = to.systemActorOf(receiver(received), "probe-receiver-" + name, Props.empty());
        String receiverRef = ActorRefResolver.get(to).toSerializationFormat(receiver);
        CompletableFuture<long[]> sent = new CompletableFuture<>();
        long t0 = System.nanoTime();
        from.systemActorOf(sender(m, receiverRef, chunkBytes, window, sent), "probe-sender-" + name, Props.empty());
        INDArray got = received.get(300, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long[] totals = sent.get(60, TimeUnit.SECONDS);
        return new Transfer(got, totals[0], (int) totals[1], seconds);
    }

    private static Behavior<Message> receiver(CompletableFuture<INDArray> done) {
        return Behaviors.setup(ctx -> {
            ActorRefResolver refs = ActorRefResolver.get(ctx.getSystem());
            ChunkAssembler[] assembler = new ChunkAssembler[1];
            return Behaviors.receive(Message.class).onMessage(StatisticChunk.class, c -> {
                if (assembler[0] == null) {
                    assembler[0] = new ChunkAssembler(c);
                }
                boolean ok = assembler[0].accept(c);
                refs.<Message>resolveActorRef(c.getReplyTo()).tell(ChunkAck.newBuilder().setChunkIndex(c.getChunkIndex()).setAccepted(ok).build());
                if (assembler[0].complete() && !done.isDone()) {
                    done.complete(assembler[0].matrix());
                    return Behaviors.stopped();
                }
                return Behaviors.same();
            }).build();
        });
    }

    private static Behavior<Message> sender(INDArray m, String to, int chunkBytes, int window, CompletableFuture<long[]> done) {
        return Behaviors.setup(ctx -> {
            ActorRefResolver refs = ActorRefResolver.get(ctx.getSystem());
            ActorRef<Message> target = refs.resolveActorRef(to);
            String self = refs.toSerializationFormat(ctx.getSelf());
            List<StatisticChunk> all = StatisticStreams.chunks("probe", StatisticStreams.key("probe", 0, 0, 0, StatisticKind.STATISTIC_G),
                    m, 1, chunkBytes, self);
            ArrayDeque<StatisticChunk> pending = new ArrayDeque<>(all);
            long total = all.stream().mapToLong(c -> c.getData().size()).sum();
            int[] inFlight = {0};
            Runnable fill = () -> {
                while (inFlight[0] < window && !pending.isEmpty()) {
                    target.tell(pending.poll());
                    inFlight[0]++;
                }
            };
            fill.run();
            return Behaviors.receive(Message.class).onMessage(ChunkAck.class, ack -> {
                inFlight[0]--;
                fill.run();
                if (pending.isEmpty() && inFlight[0] == 0) {
                    done.complete(new long[]{total, all.size()});
                    return Behaviors.stopped();
                }
                return Behaviors.same();
            }).build();
        });
    }
}
