package io.iteris.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.iteris.actors.node.IterisNode;
import io.iteris.deploy.console.Console;
import org.h2.tools.Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The node consoles of a local 3-node cluster (deploy/local-cluster.sh) watching a merge: the job's events stream as
 * they are persisted, every node's /metrics summed agrees with the journal (during the merge and after), and the pages
 * show in a real browser.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    private Server h2;
    private Map<String, String> env;
    private List<String> consoles;
    private String jobId;
    private Path out;
    /** The job's events as the console streamed them, and whether the merge was still running when each came. */
    private final List<JsonNode> streamed = new CopyOnWriteArrayList<>();
    private final List<Boolean> streamedWhileRunning = new CopyOnWriteArrayList<>();
    /** At each IterationCompleted streamed while the merge ran: iterations the stream had shown, and /metrics' sum. */
    private final List<double[]> iterationsDuringMerge = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    void startAClusterAndMergeOnIt() throws Exception {
        h2 = Server.createTcpServer("-tcpPort", String.valueOf(LocalClusterScriptTest.freePort()), "-ifNotExists", "-baseDir",
                tmp.resolve("h2").toString()).start();
        Path dir = tmp.resolve("cluster");
        env = Map.of("ITERIS_CLUSTER_DIR", dir.toString(),
                "ITERIS_CLUSTER_PORT", String.valueOf(LocalClusterScriptTest.consecutiveFreePorts(3)),
                "ITERIS_CLUSTER_HTTP_PORT", String.valueOf(LocalClusterScriptTest.consecutiveFreePorts(3)),
                "ITERIS_CLUSTER_JOURNAL", "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/journal",
                // plain TCP on loopback, so the browser needs no token (the token is tested on its own below)
                "ITERIS_CLUSTER_TLS", "off",
                "ITERIS_NODE_CMD", Path.of(System.getProperty("java.home"), "bin", "java") + " -Xss16m -Xmx1g -cp "
                        + System.getProperty("java.class.path") + " io.iteris.deploy.Main");
        String started = script("start", "3");
        assertTrue(started.contains("cluster up: 3 nodes"), started);
        consoles = Files.readAllLines(dir.resolve("console-urls"));
        assertEquals(3, consoles.size(), "one console per node: " + consoles);
        assertTrue(consoles.stream().allMatch(u -> u.startsWith("http://127.0.0.1:")), consoles.toString());

        out = tmp.resolve("merged");
        List<String> args = new ArrayList<>(List.of("merge", "--config", ROOT.resolve("examples/demo/merge.conf").toString(), "--out", out.toString()));
        args.addAll(List.of(Files.readString(dir.resolve("client-flags")).strip().split("\\s+")));
        CompletableFuture<Integer> merged = CompletableFuture.supplyAsync(() -> Main.commandLine().execute(args.toArray(String[]::new)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (jobId == null) {
            assertTrue(System.nanoTime() < deadline && !merged.isDone(), "no job appeared in the console");
            JsonNode jobs = JSON.readTree(get(consoles.get(1) + "api/jobs"));
            jobId = jobs.isEmpty() ? null : jobs.get(0).get("id").asText();
            Thread.sleep(50);
        }
        // follow the job through another node's console than the one that listed it
        HttpResponse<java.util.stream.Stream<String>> sse = http.send(HttpRequest.newBuilder(URI.create(consoles.get(2) + "api/jobs/" + jobId
                + "/events?follow=true")).header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, sse.statusCode());
        assertTrue(sse.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        sse.body().filter(l -> l.startsWith("data:")).forEach(l -> {
            streamedWhileRunning.add(!merged.isDone());
            JsonNode e = parse(l.substring(5));
            streamed.add(e);
            if (e.get("event").asText().equals("IterationCompleted") && !merged.isDone()) {
                // during the merge: the counter moved when the event was persisted, before the stream could carry it
                long seen = streamed.stream().filter(x -> x.get("event").asText().equals("IterationCompleted")).count();
                double counted = 0;
                for (String console : consoles) {
                    counted += metric(getUnchecked(console + "metrics"), "iteris_iterations_completed_total");
                }
                iterationsDuringMerge.add(new double[]{seen, counted});
            }
        });
        assertEquals(0, merged.get(120, TimeUnit.SECONDS), "the merge");
    }

    @AfterAll
    void stop() throws Exception {
        if (env != null) {
            script("stop");
        }
        if (h2 != null) {
            h2.stop();
        }
    }

    @Test
    void theJobsEventsStreamAsTheyArePersistedAndEndWithTheJob() throws Exception {
        JsonNode journal = JSON.readTree(get(consoles.get(0) + "api/jobs/" + jobId + "/events"));
        assertEquals(journal.size(), streamed.size(), "the stream carried every journaled event");
        for (int i = 0; i < journal.size(); i++) {
            assertEquals(journal.get(i), streamed.get(i), "event " + (i + 1));
        }
        assertEquals("JobCompleted", streamed.get(streamed.size() - 1).get("event").asText(), "the stream ends with the job");
        assertTrue(streamedWhileRunning.get(0), "events arrived while the merge was running, not only after it");
        JsonNode job = JSON.readTree(get(consoles.get(2) + "api/jobs/" + jobId));
        assertEquals("completed", job.get("state").asText());
        assertEquals(4, job.get("iteration").asInt());
        assertEquals(out.toString(), job.get("output").asText());
        int changes = 0;
        for (JsonNode c : job.get("changes")) {
            changes += c.has("relative_change") ? 1 : 0;
        }
        assertEquals(3, changes, "a change for every solve after the first");
    }

    /** Summed over the nodes, the counters equal what the journal records (no node restarted, so none was reset). */
    @Test
    void metricsSummedOverTheNodesAgreeWithTheJournal() throws Exception {
        JsonNode journal = JSON.readTree(get(consoles.get(0) + "api/jobs/" + jobId + "/events"));
        Map<String, Integer> events = new HashMap<>();
        journal.forEach(e -> events.merge(e.get("event").asText(), 1, Integer::sum));
        Map<String, Double> sum = new HashMap<>();
        for (String console : consoles) {
            String text = get(console + "metrics");
            assertEquals(1.0, metric(text, "iteris_jobs{state=\"completed\"}"), "every node reads the jobs from the shared journal");
            assertTrue(text.contains("jvm_memory_used_bytes{") && text.contains("jvm_threads_live_threads"), "JVM metrics");
            assertTrue(metric(text, "process_resident_memory_bytes") > 0, "the node's resident memory");
            for (String name : List.of("iteris_iterations_completed_total", "iteris_work_units_total{outcome=\"completed\"}",
                    "iteris_work_units_total{outcome=\"reassigned\"}", "iteris_solve_seconds_count", "iteris_inference_seconds_count",
                    "iteris_statistics_bytes_total{direction=\"sent\"}", "iteris_statistics_bytes_total{direction=\"received\"}")) {
                sum.merge(name, metric(text, name), Double::sum);
            }
        }
        assertEquals(events.get("IterationCompleted").doubleValue(), sum.get("iteris_iterations_completed_total"));
        assertEquals(events.get("WorkUnitCompleted").doubleValue(), sum.get("iteris_work_units_total{outcome=\"completed\"}"));
        assertEquals(events.getOrDefault("WorkUnitReassigned", 0).doubleValue(), sum.get("iteris_work_units_total{outcome=\"reassigned\"}"));
        assertEquals(events.get("LayerSolvedRecorded").doubleValue(), sum.get("iteris_solve_seconds_count"));
        assertEquals(events.get("WorkUnitCompleted").doubleValue(), sum.get("iteris_inference_seconds_count"));
        assertFalse(iterationsDuringMerge.isEmpty(), "metrics were read while the merge ran");
        for (double[] during : iterationsDuringMerge) {
            assertTrue(during[1] >= during[0], "during the merge /metrics counted " + during[1] + " iterations, the stream had shown " + during[0]);
        }
        double sent = sum.get("iteris_statistics_bytes_total{direction=\"sent\"}");
        assertTrue(sent > 0, "statistics were sent");
        // a chunk sent again after a late ack is received twice; none is received that was not sent
        assertTrue(sum.get("iteris_statistics_bytes_total{direction=\"received\"}") >= sent, sum.toString());
    }

    @Test
    void thePagesShowInABrowser() throws Exception {
        Optional<Path> chromium = chromium();
        assumeTrue(chromium.isPresent(), "SKIPPED thePagesShowInABrowser: no chromium on this machine (Debian package chromium;"
                + " .ci/run installs it), so the pages were not loaded in a browser");
        String job = dom(chromium.get(), consoles.get(1) + "jobs/" + jobId);
        assertTrue(job.contains("<span id=\"job-id\">" + jobId + "</span>"), job);
        assertTrue(job.contains("class=\"state completed\">completed</span>"), job);
        assertTrue(job.contains("<span id=\"job-iteration\">iteration 4 of 4</span>"), job);
        assertTrue(job.contains("report</a>"), job);
        // the merge report's charts, from the job's events: convergence, time per iteration, ω (the SVD energy only in the report)
        for (String chart : List.of("Convergence: relative change of ΔW per iteration", "Time per iteration", "Coefficients ω per task and layer")) {
            assertTrue(job.contains("<img alt=\"" + chart + "\""), chart + " in " + job);
        }
        assertTrue(job.contains("<tr><td>layers.0.proj</td><td>converged</td>"), "the first layer's inputs never change: converged at once");
        String nodes = dom(chromium.get(), consoles.get(0));
        Matcher rows = Pattern.compile("<tr class=\"node\">").matcher(nodes);
        int n = 0;
        while (rows.find()) {
            n++;
        }
        assertEquals(3, n, "a row per node: " + nodes);
        String jobs = dom(chromium.get(), consoles.get(2) + "jobs");
        assertTrue(jobs.contains(jobId) && jobs.contains(">completed<"), jobs);
        for (int chart = 0; chart < 3; chart++) {
            HttpResponse<byte[]> png = http.send(HttpRequest.newBuilder(URI.create(consoles.get(0) + "jobs/" + jobId + "/chart/" + chart)).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, png.statusCode(), "chart " + chart);
            assertEquals("image/png", png.headers().firstValue("Content-Type").orElse(""));
        }
    }

    /** On a TLS node the console is HTTPS with the node's certificate and asks for the token, by header or sign-in cookie. */
    @Test
    void overTlsTheConsoleAsksForTheToken() throws Exception {
        Path certs = tmp.resolve("tls");
        ProcessBuilder pb = new ProcessBuilder("bash", ROOT.resolve("deploy/certs.sh").toString(), certs.toString(), "node").redirectErrorStream(true);
        pb.environment().put("ITERIS_CERT_SAN", "ip:127.0.0.1");
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, new String(p.getInputStream().readAllBytes()));
        Path token = tmp.resolve("token");
        Files.writeString(token, "s3cret-token-for-the-test\n");
        Map<String, Object> settings = Map.of("iteris.engine.tls.dir", certs.resolve("node").toString(),
                "iteris.engine.http.port", LocalClusterScriptTest.freePort(), "iteris.engine.http.token-file", token.toString(),
                "iteris.engine.work-dir", tmp.resolve("tls-node").toString(),
                "pekko.remote.artery.canonical.port", LocalClusterScriptTest.freePort(), "iteris.engine.roles", List.of("supervisor"));
        try (IterisNode node = IterisNode.start(ConfigFactory.parseMap(settings)); Console console = Console.startIfEnabled(node)) {
            node.awaitUp();
            assertTrue(console.url().startsWith("https://127.0.0.1:"), console.url());
            HttpClient tls = HttpClient.newBuilder().sslContext(trusting(certs.resolve("ca/ca.crt"))).build();
            URI api = URI.create(console.url() + "api/jobs");
            HttpResponse<String> none = tls.send(HttpRequest.newBuilder(api).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, none.statusCode());
            assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), none.headers().toString());
            assertEquals(401, tls.send(HttpRequest.newBuilder(api).header("Authorization", "Bearer wrong").build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode());
            assertEquals(200, tls.send(HttpRequest.newBuilder(api).header("Authorization", "Bearer s3cret-token-for-the-test").build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode());
            HttpResponse<String> page = tls.send(HttpRequest.newBuilder(URI.create(console.url() + "jobs")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, page.statusCode());
            assertTrue(page.body().contains("<form method=\"post\" action=\"/sign-in\">"), "a browser is shown the sign-in form");
            HttpResponse<String> signedIn = tls.send(HttpRequest.newBuilder(URI.create(console.url() + "sign-in"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("token=s3cret-token-for-the-test")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(303, signedIn.statusCode());
            String cookie = signedIn.headers().firstValue("Set-Cookie").orElseThrow();
            assertTrue(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"), cookie);
            assertEquals(200, tls.send(HttpRequest.newBuilder(URI.create(console.url() + "jobs")).header("Cookie", cookie.split(";")[0]).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode());
            assertEquals(401, tls.send(HttpRequest.newBuilder(URI.create(console.url() + "sign-in"))
                    .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString("token=guess")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode());
            // an orchestrator's probes need no token, and hear only yes or no (HealthTest covers when)
            for (String probe : List.of("alive", "ready")) {
                HttpResponse<String> r = tls.send(HttpRequest.newBuilder(URI.create(console.url() + probe)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), probe + ": " + r.body());
                assertEquals(probe + "\n", r.body());
            }
        }
    }

    private static SSLContext trusting(Path caPem) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** A metric's value in Prometheus text (the exact name and labels as printed), 0 when absent. */
    static double metric(String text, String series) {
        return text.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1).strip()))
                .findFirst().orElse(0);
    }

    private String get(String url) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), url + ": " + r.body());
        return r.body();
    }

    private String getUnchecked(String url) {
        try {
            return get(url);
        } catch (Exception e) {
            throw new IllegalStateException(url, e);
        }
    }

    private static JsonNode parse(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new IllegalStateException(s, e);
        }
    }

    private String script(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("deploy/local-cluster.sh").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "local-cluster.sh " + String.join(" ", args));
        String text = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.exitValue(), text);
        return text;
    }

    static Optional<Path> chromium() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    /** The page's DOM after its scripts ran, as headless Chromium sees it. */
    static String dom(Path chromium, String url) throws Exception {
        Process p = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                "--dump-dom", url).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String dom = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "chromium did not finish on " + url);
        return dom;
    }
}
