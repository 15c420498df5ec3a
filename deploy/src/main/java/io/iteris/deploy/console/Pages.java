package io.iteris.deploy.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.iteris.core.engine.MergeReportPage;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * The console's pages, rendered on the server so they read without JavaScript; {@code console.js} only refreshes
 * them and appends the job's events as they stream in.
 */
final class Pages {
    private Pages() {
    }

    static String cluster(String self, ArrayNode nodes) {
        StringBuilder b = new StringBuilder("<h1>Cluster</h1>\n<p>").append(nodes.size()).append(" member(s), seen from ")
                .append(esc(Nodes.hostPort(self))).append(".</p>\n<table id=\"nodes\"><tr><th>node</th><th>roles</th><th>status</th>"
                        + "<th>reachable</th><th>supervisors</th><th>solvers</th><th>workers</th><th>heap MiB</th><th>RSS MiB</th>"
                        + "<th>jobs cached</th></tr>\n");
        for (JsonNode n : nodes) {
            List<String> roles = new java.util.ArrayList<>();
            n.path("roles").forEach(r -> roles.add(r.asText()));
            boolean d = n.path("described").asBoolean();
            b.append("<tr class=\"node\"><td>").append(esc(n.path("host_port").asText()))
                    .append(n.path("leader").asBoolean() ? " <span class=\"tag\">leader</span>" : "")
                    .append(n.path("self").asBoolean() ? " <span class=\"tag\">this node</span>" : "").append("</td>")
                    .append(td(roles.isEmpty() ? "none (a client)" : String.join(", ", roles))).append(td(n.path("status").asText()))
                    .append(n.path("reachable").asBoolean() ? td("yes") : "<td class=\"bad\">no</td>")
                    .append(td(d ? n.path("supervisors").asText() : "?")).append(td(d ? n.path("solvers").asText() : "?"))
                    .append(td(d ? n.path("workers").asText() : "?"))
                    .append(td(d ? mib(n.path("heap_used_bytes").asLong()) : "?")).append(td(d ? mib(n.path("rss_bytes").asLong()) : "?"))
                    .append(td(d ? String.valueOf(n.path("cached_jobs").size()) : "?")).append("</tr>\n");
        }
        return layout("iteris cluster", b.append("</table>\n").toString(), true);
    }

    static String jobs(List<JobView> jobs, Instant now) {
        StringBuilder b = new StringBuilder("<h1>Jobs</h1>\n");
        if (jobs.isEmpty()) {
            return layout("iteris jobs", b.append("<p>No job in the journal yet.</p>\n").toString(), true);
        }
        b.append("<table id=\"jobs\"><tr><th>job</th><th>state</th><th>method</th><th>iteration</th><th>units</th>"
                + "<th>layers solved</th><th>last event</th></tr>\n");
        for (JobView j : jobs) {
            JsonNode n = j.summary();
            b.append("<tr class=\"job\"><td><a href=\"/jobs/").append(esc(j.id())).append("\">").append(esc(j.id())).append("</a></td>")
                    .append("<td class=\"state ").append(j.stateName()).append("\">").append(j.stateName()).append("</td>")
                    .append(td(n.path("method").asText())).append(td(j.iteration() + " of " + j.iterations()))
                    .append(td(j.state().running() ? n.path("units_done").asText() + "/" + n.path("units").asText() : ""))
                    .append(td(j.state().running() ? n.path("layers_solved").asText() + "/" + n.path("layers").asText() : ""))
                    .append(td(ago(j.status().lastMillis(), now))).append("</tr>\n");
        }
        return layout("iteris jobs", b.append("</table>\n").toString(), true);
    }

    static String job(JobView j, List<JsonNode> events, Instant now) {
        JsonNode n = j.summary();
        StringBuilder b = new StringBuilder("<h1>Job <span id=\"job-id\">").append(esc(j.id())).append("</span></h1>\n");
        b.append("<p><span id=\"job-state\" class=\"state ").append(j.stateName()).append("\">").append(j.stateName()).append("</span> · ")
                .append(esc(n.path("method").asText())).append(", ").append(n.path("adapters").asInt()).append(" adapters, ")
                .append(n.path("layers").asInt()).append(" layers · <span id=\"job-iteration\">iteration ").append(j.iteration())
                .append(" of ").append(j.iterations()).append("</span>");
        if (j.state().running()) {
            b.append(" · units ").append(n.path("units_done").asText()).append('/').append(n.path("units").asText())
                    .append(" · layers solved ").append(n.path("layers_solved").asText()).append('/').append(n.path("layers").asText());
        }
        b.append(" · last event ").append(ago(j.status().lastMillis(), now)).append("</p>\n");
        if (n.has("output")) {
            b.append("<p>Output <code>").append(esc(n.path("output").asText())).append("</code>: <a href=\"/jobs/").append(esc(j.id()))
                    .append("/files/report.html\">report</a> · <a href=\"/jobs/").append(esc(j.id()))
                    .append("/files/adapter_model.safetensors\">adapter</a> · <a href=\"/jobs/").append(esc(j.id()))
                    .append("/files/adapter_config.json\">adapter_config.json</a></p>\n");
        } else if (n.has("error")) {
            b.append("<p class=\"bad\">Failed: ").append(esc(n.path("error").asText())).append("</p>\n");
        }
        b.append("<h2>Work units done per node</h2>\n<table id=\"units-per-node\"><tr><th>node</th><th>units</th></tr>\n");
        n.path("units_per_node").fields().forEachRemaining(e -> b.append("<tr>").append(td(e.getKey())).append(td(e.getValue().asText())).append("</tr>\n"));
        b.append("</table>\n");
        // the merge report's charts, drawn from the events so far (the SVD energy comes only with the published adapter)
        List<MergeReportPage.Section> sections = MergeReportPage.sections(j.report());
        boolean any = false;
        for (int i = 0; i < sections.size(); i++) {
            MergeReportPage.Section s = sections.get(i);
            if (s.drawable()) {
                any = true;
                b.append("<h2>").append(esc(s.title())).append("</h2>\n<img alt=\"").append(esc(s.title())).append("\" src=\"/jobs/")
                        .append(esc(j.id())).append("/chart/").append(i).append("?at=").append(j.status().events()).append("\">\n<p>")
                        .append(esc(s.caption())).append("</p>\n").append(s.table());
            }
        }
        if (!any) {
            b.append("<p>No iteration has completed yet: its charts appear when one has.</p>\n");
        }
        b.append("<h2>Failures handled</h2>\n");
        if (n.path("reassigned").isEmpty() && n.path("resumed").isEmpty()) {
            b.append("<p id=\"failures\">None.</p>\n");
        } else {
            b.append("<ul id=\"failures\">\n");
            n.path("reassigned").fields().forEachRemaining(e -> b.append("<li>").append(e.getValue().asInt()).append(" work unit(s) reassigned: ")
                    .append(esc(e.getKey())).append("</li>\n"));
            for (JsonNode r : n.path("resumed")) {
                b.append("<li>supervisor resumed on ").append(esc(Nodes.hostPort(r.path("node").asText()))).append(" at iteration ")
                        .append(r.path("iteration").asInt()).append(": ").append(esc(r.path("reason").asText())).append("</li>\n");
            }
            b.append("</ul>\n");
        }
        b.append("<h2>Events</h2>\n<table id=\"events\"").append(j.finished() ? "" : " data-follow=\"/api/jobs/" + esc(j.id())
                + "/events?follow=true&amp;after=" + (events.isEmpty() ? 0 : events.get(events.size() - 1).path("seq").asLong()) + "\"")
                .append("><tr><th>#</th><th>time (UTC)</th><th>event</th><th>what happened</th></tr>\n");
        for (JsonNode e : events) {
            b.append(eventRow(e));
        }
        return layout("iteris job " + j.id(), b.append("</table>\n").toString(), false);
    }

    static String eventRow(JsonNode e) {
        return "<tr>" + td(e.path("seq").asText()) + td(Instant.ofEpochMilli(e.path("at_millis").asLong()).toString())
                + td(e.path("event").asText()) + "<td class=\"text\">" + esc(e.path("text").asText()) + "</td></tr>\n";
    }

    static String notFound(String what) {
        return layout("not found", "<h1>Not found</h1>\n<p>" + esc(what) + "</p>\n", false);
    }

    static String signIn(boolean failed) {
        return layout("iteris console: sign in", "<h1>Sign in</h1>\n" + (failed ? "<p class=\"bad\">That token is not this cluster's.</p>\n" : "")
                + "<p>This console asks for the bearer token in the node's <code>iteris.engine.http.token-file</code>.</p>\n"
                + "<form method=\"post\" action=\"/sign-in\"><input type=\"password\" name=\"token\" autocomplete=\"off\" size=\"48\">"
                + " <button>Sign in</button></form>\n", false);
    }

    private static String layout(String title, String main, boolean refresh) {
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title) + "</title>"
                + "<link rel=\"stylesheet\" href=\"/static/console.css\"><script src=\"/static/console.js\" defer></script></head><body>\n"
                + "<nav><b>iteris</b> <a href=\"/\">Cluster</a> <a href=\"/jobs\">Jobs</a> <a href=\"/metrics\">Metrics</a></nav>\n"
                + "<main" + (refresh ? " data-refresh=\"5\"" : "") + ">\n" + main + "</main>\n</body></html>\n";
    }

    private static String td(String s) {
        return "<td>" + esc(s) + "</td>";
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "?" : String.format(Locale.ROOT, "%.0f", bytes / 1048576.0);
    }

    static String ago(long millis, Instant now) {
        long s = Math.max(0, Duration.between(Instant.ofEpochMilli(millis), now).getSeconds());
        return s < 120 ? s + " s ago" : s < 7200 ? s / 60 + " min ago" : s / 3600 + " h ago";
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
