package io.iteris.deploy.console;

import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.IterisNode;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probes an orchestrator asks (Kubernetes' liveness and readiness): a node is ready only once it joined its cluster
 * and while its journal answers, and alive throughout; neither route needs the console's token or says more than yes
 * or no.
 */
class HealthTest {
    @TempDir
    Path tmp;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Polls {@code url} until it answers {@code status}, at most {@code seconds}. */
    private HttpResponse<String> await(String url, int status, int seconds) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        HttpResponse<String> r = get(url);
        while (r.statusCode() != status && System.nanoTime() < deadline) {
            Thread.sleep(200);
            r = get(url);
        }
        return r;
    }

    @Test
    void readyOnlyOnceJoinedAndWhileTheJournalAnswersAliveThroughout() throws Exception {
        Server h2 = Server.createTcpServer("-tcpPort", String.valueOf(freePort()), "-ifNotExists", "-baseDir", tmp.resolve("h2").toString()).start();
        int port = freePort();
        int nowhere = freePort(); // a seed nobody listens on: the node waits to join
        int httpPort = freePort();
        IterisNode node = IterisNode.start(ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.canonical.port", port,
                "pekko.cluster.seed-nodes", List.of("pekko://iteris@127.0.0.1:" + nowhere),
                "iteris.engine.journal", "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/journal",
                "iteris.engine.work-dir", tmp.resolve("work").toString(),
                "iteris.engine.workers-per-node", 0,
                "iteris.engine.http.port", httpPort)));
        try (node; Console console = Console.startIfEnabled(node)) {
            String url = console.url();
            assertEquals(200, get(url + "alive").statusCode());
            assertEquals("alive\n", get(url + "alive").body());
            HttpResponse<String> notJoined = get(url + "ready");
            assertEquals(503, notJoined.statusCode(), "not a member yet: " + notJoined.body());
            assertEquals("not ready\n", notJoined.body());

            Cluster cluster = Cluster.get(node.system());
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
            HttpResponse<String> joined = await(url + "ready", 200, 30);
            assertEquals(200, joined.statusCode(), "an Up member whose journal answers: " + joined.body());
            assertEquals("ready\n", joined.body());

            h2.stop();
            HttpResponse<String> noJournal = await(url + "ready", 503, 30);
            assertEquals(503, noJournal.statusCode(), "the journal is gone: " + noJournal.body());
            assertEquals(200, get(url + "alive").statusCode(), "and the node is still alive");
            assertTrue(get(url + "api/nodes").statusCode() == 200, "the console itself still answers");
        } finally {
            h2.stop();
        }
    }
}
