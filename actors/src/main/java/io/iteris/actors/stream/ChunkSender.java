package io.iteris.actors.stream;

import io.iteris.actors.Wire;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKey;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Streams a list of statistics to their receivers in chunks, with a bounded window of unacknowledged chunks:
 * a chunk whose ack is overdue, or that was refused (corrupted on the way), is sent again; one the receiver
 * cannot take yet ({@code retry_later}) again after a growing pause. Past {@code maxRetries} for one chunk it
 * gives up. Statistics are cut into chunks one at a time, so a unit's chunks never all sit in memory at once.
 * Tells its parent {@link Sent} or {@link NotSent}, then stops; if it fails instead, its parent,
 * which watches it, hears of that from the watch.
 *
 * <p>Accepts: {@link Ack} (from the receivers; chunks name this actor as reply_to), and its own timer's tick.
 */
public final class ChunkSender {
    /** What a sender is told. */
    public sealed interface Command {
    }

    /** A receiver's answer to one chunk. */
    public record Ack(ChunkAck ack) implements Command, Wire {
    }

    private enum Tick implements Command { INSTANCE }

    /** How a stream ended, told to the sender's parent. */
    public sealed interface Outcome {
    }

    /** Every chunk acknowledged. */
    public record Sent(long bytes, int chunks) implements Outcome {
    }

    /** A chunk was refused or unacknowledged too often. */
    public record NotSent(String reason) implements Outcome {
    }

    /** Window, ack timeout and retries ({@code iteris.engine}). */
    public record Settings(int chunkBytes, int window, Duration ackTimeout, int maxRetries) {
        /** How often overdue chunks are looked for; short enough for the first retry-later pause. */
        Duration tick() {
            Duration quarter = ackTimeout.dividedBy(4);
            return quarter.compareTo(FIRST_PAUSE) < 0 ? quarter : FIRST_PAUSE;
        }
    }

    /** One statistic to send: its key, its matrix, the calibration rows summed into it. */
    public record Statistic(StatisticKey key, INDArray matrix, long rows) {
    }

    static final Duration FIRST_PAUSE = Duration.ofMillis(250);

    private record ChunkId(StatisticKey key, int index) {
    }

    /** A chunk sent and not yet acknowledged. */
    private static final class InFlight {
        final StatisticChunk chunk;
        long dueAt;
        int retries;
        int later;

        InFlight(StatisticChunk chunk, long dueAt) {
            this.chunk = chunk;
            this.dueAt = dueAt;
        }
    }

    /**
     * @param route    where each chunk goes (a solver's entity ref, or any actor)
     * @param parent   told how it ended
     */
    public static Behavior<Command> create(String jobId, List<Statistic> statistics, Settings settings,
                                           Function<StatisticChunk, RecipientRef<LayerSolver.Command>> route, ActorRef<Outcome> parent) {
        return create(jobId, statistics, settings, route, parent, EngineSettings.Faults.NONE);
    }

    /** @param faults a stream may be made to fail as it starts ({@link EngineSettings.Faults#onStreamStart}) */
    public static Behavior<Command> create(String jobId, List<Statistic> statistics, Settings settings,
                                           Function<StatisticChunk, RecipientRef<LayerSolver.Command>> route, ActorRef<Outcome> parent,
                                           EngineSettings.Faults faults) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            faults.onStreamStart();
            timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.tick());
            return new ChunkSender(ctx, jobId, statistics, settings, route, parent).start();
        }));
    }

    private final String jobId;
    private final Settings settings;
    private final Function<StatisticChunk, RecipientRef<LayerSolver.Command>> route;
    private final ActorRef<Outcome> parent;
    private final ActorRef<Command> self;
    private final ArrayDeque<Statistic> unsent;
    private final ArrayDeque<StatisticChunk> pending = new ArrayDeque<>();
    private final Map<ChunkId, InFlight> inFlight = new LinkedHashMap<>();
    private long bytes;
    private int chunks;
    private long clock;

    private ChunkSender(ActorContext<Command> ctx, String jobId, List<Statistic> statistics, Settings settings,
                        Function<StatisticChunk, RecipientRef<LayerSolver.Command>> route, ActorRef<Outcome> parent) {
        this.jobId = jobId;
        this.settings = settings;
        this.route = route;
        this.parent = parent;
        this.self = ctx.getSelf();
        this.unsent = new ArrayDeque<>(statistics);
    }

    private Behavior<Command> start() {
        fill();
        return inFlight.isEmpty() ? done() : sending();
    }

    private Behavior<Command> sending() {
        return Behaviors.receive(Command.class)
                .onMessage(Ack.class, a -> onAck(a.ack()))
                .onMessage(Tick.class, tick -> onTick())
                .build();
    }

    /** Sends pending chunks until the window is full, cutting the next statistic when they run out. */
    private void fill() {
        while (inFlight.size() < settings.window() && (!pending.isEmpty() || !unsent.isEmpty())) {
            if (pending.isEmpty()) {
                Statistic next = unsent.poll();
                pending.addAll(StatisticStreams.chunks(jobId, next.key(), next.matrix(), next.rows(), settings.chunkBytes()));
                continue;
            }
            StatisticChunk c = pending.poll();
            inFlight.put(new ChunkId(c.getKey(), c.getChunkIndex()), new InFlight(c, now() + settings.ackTimeout().toNanos()));
            bytes += c.getData().size();
            chunks++;
            route.apply(c).tell(new LayerSolver.Chunk(c, self));
        }
    }

    private Behavior<Command> onAck(ChunkAck ack) {
        ChunkId id = new ChunkId(ack.getKey(), ack.getChunkIndex());
        InFlight sent = inFlight.get(id);
        if (sent == null || !ack.getJobId().equals(jobId)) {
            return Behaviors.same(); // a late ack of a chunk already acknowledged
        }
        if (ack.getAccepted()) {
            inFlight.remove(id);
            fill();
            return inFlight.isEmpty() ? done() : Behaviors.same();
        }
        if (ack.getRetryLater()) {
            // the receiver is still learning its job: send again after a pause, longer each time, up to the ack
            // timeout (the resend counts as a retry)
            long pause = Math.min(settings.ackTimeout().toNanos(), FIRST_PAUSE.toNanos() << Math.min(sent.later++, 16));
            sent.dueAt = now() + pause;
            return Behaviors.same();
        }
        return resend(id, sent, "refused by its receiver");
    }

    private Behavior<Command> onTick() {
        clock += settings.tick().toNanos();
        long now = now();
        for (Map.Entry<ChunkId, InFlight> e : List.copyOf(inFlight.entrySet())) {
            if (now - e.getValue().dueAt >= 0) {
                Behavior<Command> b = resend(e.getKey(), e.getValue(), "unacknowledged");
                if (b != Behaviors.<Command>same()) {
                    return b;
                }
            }
        }
        return Behaviors.same();
    }

    private Behavior<Command> resend(ChunkId id, InFlight sent, String why) {
        if (++sent.retries > settings.maxRetries()) {
            return failed(id, why, sent.retries);
        }
        sent.dueAt = now() + settings.ackTimeout().toNanos();
        route.apply(sent.chunk).tell(new LayerSolver.Chunk(sent.chunk, self));
        return Behaviors.same();
    }

    private Behavior<Command> failed(ChunkId id, String why, int retries) {
        parent.tell(new NotSent("chunk " + id.index() + " of " + id.key().getKind() + " for "
                + id.key().getLayer() + " " + why + " " + retries + " times"));
        return Behaviors.stopped();
    }

    private Behavior<Command> done() {
        parent.tell(new Sent(bytes, chunks));
        return Behaviors.stopped();
    }

    /**
     * Time as this actor's ticks count it (nanoseconds): due times are judged on the timer, not the wall clock,
     * so a test on manual time sees a chunk overdue exactly when it moves time past the ack timeout.
     */
    private long now() {
        return clock;
    }
}
