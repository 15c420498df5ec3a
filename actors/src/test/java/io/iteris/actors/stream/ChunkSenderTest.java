package io.iteris.actors.stream;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.core.linalg.Matrices;
import io.iteris.protocol.ChunkAck;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKind;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The worker's send window on manual time: at most {@code window} chunks in flight, an overdue or refused chunk
 * sent again, a "retry later" one after a pause, and the unit given up past the retry limit. No sleeps: time
 * moves only when the test moves it.
 */
class ChunkSenderTest {
    static final ActorTestKit kit = ActorTestKit.create(ManualTime.config().withFallback(
            ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0").withFallback(ConfigFactory.parseResources("iteris-cluster.conf"))));
    static final ManualTime time = ManualTime.get(kit.system());
    /** 1 s ack timeout: the sender looks for overdue chunks every 250 ms. */
    static final ChunkSender.Settings SETTINGS = new ChunkSender.Settings(1024, 2, Duration.ofSeconds(1), 2);

    @AfterAll
    static void shutdown() {
        kit.shutdownTestKit();
    }

    /** A 24×24 float64 statistic sent whole (a C): 4,608 bytes, five chunks of at most 1 KiB. */
    private static ChunkSender.Statistic statistic() {
        double[] v = new double[24 * 24];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5 - 7;
        }
        INDArray m = Matrices.of(v, 24, 24);
        return new ChunkSender.Statistic(StatisticStreams.key("layer", 0, 0, 0, StatisticKind.STATISTIC_C), m, 3);
    }

    private static ChunkSender.Ack ack(StatisticChunk c, boolean accepted, boolean later) {
        return new ChunkSender.Ack(ChunkAck.newBuilder().setJobId(c.getJobId()).setKey(c.getKey()).setChunkIndex(c.getChunkIndex())
                .setAccepted(accepted).setRetryLater(later).build());
    }

    /** The next chunk the receiver got. */
    private static StatisticChunk chunk(TestProbe<LayerSolver.Command> receiver) {
        return receiver.expectMessageClass(LayerSolver.Chunk.class).chunk();
    }

    @Test
    void keepsTheWindowResendsWhatIsOverdueOrRefusedAndReportsTheBytesWhenAllAreAcked() {
        TestProbe<LayerSolver.Command> receiver = kit.createTestProbe(LayerSolver.Command.class);
        TestProbe<ChunkSender.Outcome> parent = kit.createTestProbe(ChunkSender.Outcome.class);
        ActorRef<ChunkSender.Command> sender = kit.spawn(ChunkSender.create("job", List.of(statistic()), SETTINGS, c -> receiver.getRef(), parent.getRef()));

        StatisticChunk c0 = chunk(receiver);
        StatisticChunk c1 = chunk(receiver);
        assertEquals(5, c0.getChunkCount());
        time.expectNoMessageFor(Duration.ofMillis(900), receiver); // the window is full and nothing is overdue yet
        sender.tell(ack(c0, true, false));
        StatisticChunk c2 = chunk(receiver);
        assertEquals(2, c2.getChunkIndex(), "an ack frees a place in the window");

        time.timePasses(Duration.ofMillis(100)); // c1 is now 1 s old, c2 not yet
        assertEquals(c1, chunk(receiver), "an overdue chunk is sent again");
        receiver.expectNoMessage(Duration.ofMillis(50));

        sender.tell(ack(c2, false, false));
        assertEquals(c2, chunk(receiver), "a refused (corrupted) chunk is sent again at once");
        sender.tell(ack(c1, false, true));
        receiver.expectNoMessage(Duration.ofMillis(50));
        time.timePasses(Duration.ofMillis(250));
        assertEquals(c1, chunk(receiver), "a 'retry later' chunk comes again after a pause");

        sender.tell(ack(c1, true, false));
        sender.tell(ack(c2, true, false));
        StatisticChunk c3 = chunk(receiver);
        StatisticChunk c4 = chunk(receiver);
        sender.tell(ack(c3, true, false));
        sender.tell(ack(c4, true, false));
        ChunkSender.Sent sent = parent.expectMessageClass(ChunkSender.Sent.class);
        assertEquals(24 * 24 * 8, sent.bytes());
        assertEquals(5, sent.chunks());
    }

    @Test
    void givesUpOnAChunkNobodyAcknowledgesPastTheRetryLimit() {
        TestProbe<LayerSolver.Command> receiver = kit.createTestProbe(LayerSolver.Command.class);
        TestProbe<ChunkSender.Outcome> parent = kit.createTestProbe(ChunkSender.Outcome.class);
        kit.spawn(ChunkSender.create("job", List.of(statistic()), SETTINGS, c -> receiver.getRef(), parent.getRef()));
        receiver.receiveSeveralMessages(2);
        for (int retry = 1; retry <= SETTINGS.maxRetries(); retry++) {
            time.timePasses(SETTINGS.ackTimeout());
            receiver.receiveSeveralMessages(2); // both chunks of the window, again
        }
        time.timePasses(SETTINGS.ackTimeout());
        ChunkSender.NotSent failed = parent.expectMessageClass(ChunkSender.NotSent.class);
        assertTrue(failed.reason().contains("unacknowledged 3 times"), failed.reason());
    }
}
