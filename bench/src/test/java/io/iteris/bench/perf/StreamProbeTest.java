package io.iteris.bench.perf;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.IterisNode;
import io.iteris.core.linalg.Matrices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The probe `bench stream` uses: a 64 MiB statistic crosses from one node to another in 1 MiB chunks, bit for bit. */
class StreamProbeTest {
    @TempDir
    Path tmp;

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static IterisNode node(int port, int seed, Path work) {
        return IterisNode.start(ConfigFactory.parseMap(Map.of("pekko.remote.artery.canonical.port", port,
                "pekko.cluster.seed-nodes", List.of("pekko://iteris@127.0.0.1:" + seed), "iteris.engine.workers-per-node", 0,
                "iteris.engine.work-dir", work.toString(), "iteris.engine.roles", List.of("supervisor"))));
    }

    @Test
    void a64MebibyteStatisticCrossesNodesInChunks() throws Exception {
        int p1 = freePort();
        try (IterisNode a = node(p1, p1, tmp.resolve("a")); IterisNode b = node(freePort(), p1, tmp.resolve("b"))) {
            a.awaitUp(Duration.ofSeconds(60));
            b.awaitUp(Duration.ofSeconds(60));
            int dim = 2896; // 2896² float64 = 64 MiB
            INDArray m = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.DOUBLE, dim, dim);
            StreamProbe.Transfer t = StreamProbe.send(a.system(), b.system(), m, 1 << 20, 8, "64mib");
            assertEquals((long) dim * dim * 8, t.bytes());
            assertEquals(0, Arrays.compare(Matrices.toArray(m), Matrices.toArray(t.received())), "the statistic arrives bit for bit");
            System.out.printf("64 MiB statistic between two nodes in 1 MiB chunks: %.2f s, %.0f MiB/s%n", t.seconds(),
                    t.bytes() / t.seconds() / (1 << 20));
        }
    }
}
