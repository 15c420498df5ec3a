package io.iteris.bench.perf;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.IterisNode;
import io.iteris.bench.Installation;
import io.iteris.bench.cluster.ProcessCluster;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code bench stream}: one statistic between two nodes on 127.0.0.1 (Artery TCP, Protobuf chunks with CRCs,
 * one ack per chunk, 8 in flight), for a sweep of chunk sizes, and at the engine's 1 MiB chunks also over mutual
 * TLS (what a cluster off loopback runs), against a plain socket copy of the same bytes over the same loopback in
 * the same run (the machine's own limit); and Artery's own floor: the same bytes as plain {@code byte[]} messages.
 */
final class StreamBench {
    private StreamBench() {
    }

    static ResultTable run(Path dir, int mib, int[] chunkKib, int reps, PrintStream log) throws Exception {
        int dim = (int) Math.sqrt(mib * (double) (1 << 20) / 8);
        INDArray m = Nd4j.rand(DataType.DOUBLE, dim, dim);
        long bytes = (long) dim * dim * 8;
        ResultTable t = new ResultTable("transport", "chunk_kib", "mib", "chunks", "median_ms", "mib_per_s", "reference_ms",
                "reference_mib_per_s", "ratio");
        double raw = Measure.medianMillis(1, reps, () -> socketCopy(bytes));
        log.printf("  plain socket copy over loopback: %.0f MiB/s%n", bytes / (raw / 1e3) / (1 << 20));
        sweep("tcp", dir, null, m, chunkKib, reps, raw, t, log);
        Path tls = dir.resolve("tls");
        Process certs = new ProcessBuilder("bash", Installation.script("certs.sh").toString(), tls.toString(), "a", "b")
                .redirectErrorStream(true).start();
        String out = new String(certs.getInputStream().readAllBytes());
        if (certs.waitFor() != 0) {
            throw new IllegalStateException("deploy/certs.sh failed: " + out);
        }
        sweep("tls", dir, tls, m, new int[]{1024}, reps, raw, t, log);
        return t;
    }

    /** Two nodes (mutual TLS when {@code tls} is a certs.sh directory) and the transfer at each chunk size. */
    private static void sweep(String transport, Path dir, Path tls, INDArray m, int[] chunkKib, int reps, double raw, ResultTable t,
                              PrintStream log) throws Exception {
        long bytes = m.length() * 8;
        int seed = ProcessCluster.freePort();
        try (IterisNode a = IterisNode.start(node(seed, seed, dir.resolve(transport + "-a"), tls == null ? null : tls.resolve("a")));
             IterisNode b = IterisNode.start(node(ProcessCluster.freePort(), seed, dir.resolve(transport + "-b"), tls == null ? null : tls.resolve("b")))) {
            a.awaitUp(Duration.ofSeconds(60));
            b.awaitUp(Duration.ofSeconds(60));
            int[] run = {0};
            for (int kib : chunkKib) {
                int[] chunks = {0};
                double ms = Measure.medianMillis(1, reps, () -> {
                    StreamProbe.Transfer tr = StreamProbe.send(a.system(), b.system(), m, kib * 1024, 8, transport + run[0]++);
                    chunks[0] = tr.chunks();
                });
                double rate = bytes / (ms / 1e3) / (1 << 20);
                t.add(transport, kib, bytes / (double) (1 << 20), chunks[0], ms, rate, raw, bytes / (raw / 1e3) / (1 << 20), ms / raw);
                log.printf("  %s, chunks of %d KiB: %.0f MiB/s%n", transport, kib, rate);
            }
            // Artery's own floor: the same bytes as plain byte[] messages of 1 MiB, nothing of ours on the way
            int kib = 1024;
            double floorMs = Measure.medianMillis(1, reps, () -> StreamProbe.sendRawBytes(a.system(), b.system(), bytes, kib * 1024,
                    transport + "-raw" + run[0]++));
            double rate = bytes / (floorMs / 1e3) / (1 << 20);
            t.add(transport + " byte[] (Artery alone)", kib, bytes / (double) (1 << 20), (bytes + kib * 1024 - 1) / (kib * 1024), floorMs,
                    rate, raw, bytes / (raw / 1e3) / (1 << 20), floorMs / raw);
            log.printf("  %s, plain byte[] messages of %d KiB (Artery alone): %.0f MiB/s%n", transport, kib, rate);
        }
    }

    private static com.typesafe.config.Config node(int port, int seed, Path dir, Path tls) {
        Map<String, Object> m = new java.util.HashMap<>(Map.of(
                "pekko.remote.artery.canonical.port", port,
                "pekko.cluster.seed-nodes", List.of("pekko://iteris@127.0.0.1:" + seed),
                "iteris.engine.roles", List.of("supervisor"),
                "iteris.engine.work-dir", dir.toString()));
        if (tls != null) {
            m.put("iteris.engine.tls.dir", tls.toString());
        }
        return ConfigFactory.parseMap(m);
    }

    /** Writes {@code bytes} through a loopback socket in 1 MiB writes while another thread reads them. */
    private static void socketCopy(long bytes) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Long> read = CompletableFuture.supplyAsync(() -> {
                try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                    byte[] buf = new byte[1 << 20];
                    long n = 0;
                    for (int k; (k = in.read(buf)) > 0; ) {
                        n += k;
                    }
                    return n;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort()); OutputStream out = s.getOutputStream()) {
                byte[] block = new byte[1 << 20];
                for (long sent = 0; sent < bytes; sent += block.length) {
                    out.write(block, 0, (int) Math.min(block.length, bytes - sent));
                }
            }
            if (read.get(120, TimeUnit.SECONDS) != bytes) {
                throw new IllegalStateException("the socket copy lost bytes");
            }
        }
    }
}
