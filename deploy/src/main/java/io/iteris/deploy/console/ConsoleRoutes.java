package io.iteris.deploy.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.metrics.NodeMetrics;
import io.iteris.core.engine.MergeReportPage;
import io.iteris.core.engine.Merger;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobFailed;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What a node's console serves: the pages ({@code /}, {@code /jobs}, {@code /jobs/{id}}), the JSON behind them
 * ({@code /api/nodes}, {@code /api/jobs}, {@code /api/jobs/{id}}, {@code /api/jobs/{id}/events[?follow=true]} as
 * Server-Sent Events), {@code /metrics} (Prometheus text), a finished job's report and adapter, the static
 * files, and, without the token, {@code /alive} and {@code /ready} for an orchestrator's probes ({@link Health}). Every
 * answer is asynchronous: the journal and the node agents are asked without holding a thread.
 */
final class ConsoleRoutes extends AllDirectives {
    /** The output files a finished job's page links to (nothing else of the output directory is served). */
    static final Set<String> OUTPUT_FILES = Set.of(Merger.REPORT_PAGE, Merger.REPORT_FILE, "adapter_model.safetensors", "adapter_config.json");

    private static final org.apache.pekko.http.javadsl.model.HttpCharset UTF_8 = HttpCharsets.UTF_8;

    private final ActorSystem<?> system;
    private final Journal journal;
    private final Nodes nodes;
    private final ConsoleAuth auth;
    private final Health health;

    ConsoleRoutes(ActorSystem<?> system, ConsoleAuth auth) {
        this.system = system;
        this.journal = new Journal(system);
        this.nodes = new Nodes(system);
        this.auth = auth;
        this.health = new Health(system);
    }

    Route route() {
        return concat(health(), staticFiles(), auth.signInRoutes(this), auth.authorized(this, () -> concat(pages(), api(), metrics())));
    }

    /** {@code /alive} and {@code /ready} for an orchestrator's probes: no token, 200 or 503 and one word. */
    private Route health() {
        return concat(
                path("alive", () -> get(() -> health.alive() ? complete(StatusCodes.OK, "alive\n")
                        : complete(StatusCodes.SERVICE_UNAVAILABLE, "stopping\n"))),
                path("ready", () -> get(() -> onSuccess(health.ready(), ready -> ready ? complete(StatusCodes.OK, "ready\n")
                        : complete(StatusCodes.SERVICE_UNAVAILABLE, "not ready\n")))));
    }

    private Route staticFiles() {
        return pathPrefix("static", () -> concat(
                path("console.css", () -> get(() -> getFromResource("console/console.css", ContentTypes.create(MediaTypes.TEXT_CSS, UTF_8)))),
                path("console.js", () -> get(() -> getFromResource("console/console.js",
                        ContentTypes.create(MediaTypes.APPLICATION_JAVASCRIPT, UTF_8))))));
    }

    private Route pages() {
        Route cluster = pathSingleSlash(() -> get(() -> onSuccess(nodes.describe(), n -> html(Pages.cluster(system.address().toString(), n)))));
        Route jobs = pathEnd(() -> get(() -> onSuccess(journal.jobs(), all -> html(Pages.jobs(all, Instant.now())))));
        Route job = pathPrefix(PathMatchers.segment(), id -> concat(
                pathEnd(() -> get(() -> withJob(id, this::jobPage))),
                path(PathMatchers.segment("chart").slash(PathMatchers.integerSegment()), n -> get(() -> withJob(id, j -> chartPng(j, n)))),
                path(PathMatchers.segment("files").slash(PathMatchers.segment()), name -> get(() -> withJob(id, j -> outputFile(j, name))))));
        return concat(cluster, pathPrefix("jobs", () -> concat(jobs, job)));
    }

    private Route api() {
        Route nodeList = path("nodes", () -> get(() -> onSuccess(nodes.describe(), this::json)));
        Route jobList = pathEnd(() -> get(() -> onSuccess(journal.jobs(), all -> {
            ArrayNode a = JobView.JSON.createArrayNode();
            all.forEach(j -> a.add(j.toJson()));
            return json(a);
        })));
        Route job = pathPrefix(PathMatchers.segment(), id -> concat(
                pathEnd(() -> get(() -> withJob(id, j -> json(j.toJson())))),
                path("events", () -> get(() -> parameterOptional("follow", follow -> parameterOptional("after", after ->
                        // a browser's EventSource reconnecting names the last event it saw
                        optionalHeaderValueByName("Last-Event-ID", last -> {
                            long from = Math.max(number(after), number(last));
                            return events(id, "true".equals(follow.orElse("")), from);
                        })))))));
        return pathPrefix("api", () -> concat(nodeList, pathPrefix("jobs", () -> concat(jobList, job))));
    }

    private static long number(Optional<String> s) {
        try {
            return s.map(Long::parseLong).orElse(0L);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The node's metrics, the jobs gauge brought up to date from the journal first. */
    private Route metrics() {
        return path("metrics", () -> get(() -> onSuccess(journal.jobs(), all -> {
            NodeMetrics m = NodeMetrics.get(system);
            m.jobs(Journal.countByState(all));
            return complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, m.scrape())));
        })));
    }

    private Route withJob(String id, Function<JobView, Route> then) {
        return onSuccess(journal.job(id), j -> j.map(then).orElseGet(() -> complete(StatusCodes.NOT_FOUND,
                HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, Pages.notFound("no job " + id + " in this cluster's journal")))));
    }

    private Route jobPage(JobView j) {
        return onSuccess(JobHistory.eventsAsync(system, j.id()), events -> {
            List<JsonNode> last = new ArrayList<>();
            events.subList(Math.max(0, events.size() - 200), events.size()).forEach(e -> last.add(JobView.event(e)));
            return html(Pages.job(j, last, Instant.now()));
        });
    }

    /** The job page's n-th chart, drawn as the merge report draws it. */
    private Route chartPng(JobView j, int n) {
        List<MergeReportPage.Section> sections = MergeReportPage.sections(j.report());
        byte[] png = n < 0 || n >= sections.size() ? null : sections.get(n).png();
        return png == null ? complete(StatusCodes.NOT_FOUND, "job " + j.id() + " has no chart " + n + " yet")
                : complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.create(MediaTypes.IMAGE_PNG), png)));
    }

    private Route outputFile(JobView j, String name) {
        Optional<String> out = j.output();
        if (out.isEmpty() || !OUTPUT_FILES.contains(name)) {
            return complete(StatusCodes.NOT_FOUND, "job " + j.id() + " has no output file " + name);
        }
        Path file = Path.of(out.get()).resolve(name);
        if (!Files.isReadable(file)) {
            return complete(StatusCodes.NOT_FOUND, file + " cannot be read on this node (is the output directory shared?)");
        }
        return getFromFile(file.toFile());
    }

    /** The job's events as JSON, or with follow as Server-Sent Events until the job ends (a heartbeat every 15 s). */
    private Route events(String id, boolean follow, long after) {
        if (!follow) {
            return onSuccess(JobHistory.eventsAsync(system, id), events -> {
                if (events.isEmpty()) {
                    return complete(StatusCodes.NOT_FOUND, "no job " + id + " in this cluster's journal");
                }
                ArrayNode a = JobView.JSON.createArrayNode();
                events.stream().filter(e -> e.sequenceNr() > after).forEach(e -> a.add(JobView.event(e)));
                return json(a);
            });
        }
        Source<ServerSentEvent, NotUsed> sse = JobHistory.follow(system, id, after + 1)
                .takeWhile(e -> !(e.event() instanceof JobCompleted || e.event() instanceof JobFailed), true)
                .map(e -> ServerSentEvent.create(JobView.event(e).toString(), Optional.empty(), Optional.of(String.valueOf(e.sequenceNr())),
                        java.util.OptionalInt.empty()))
                .keepAlive(Duration.ofSeconds(15), ServerSentEvent::heartbeat);
        return completeOK(sse, EventStreamMarshalling.toEventStream());
    }

    private Route html(String page) {
        return complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, page)));
    }

    private Route json(JsonNode n) {
        return complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, n.toString())));
    }

    Route status(StatusCode code, Supplier<String> page) {
        return complete(code, HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, page.get()));
    }
}
