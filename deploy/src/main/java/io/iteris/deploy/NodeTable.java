package io.iteris.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iteris.protocol.NodeDescription;

import java.util.List;
import java.util.Locale;

/** {@code iteris status --nodes}: one row per node, as text or as one JSON array. */
final class NodeTable {
    private NodeTable() {
    }

    static String text(List<NodeDescription> nodes) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-34s %-26s %8s %-8s %-8s %8s %8s %11s %10s  %s%n",
                "node", "roles", "workers", "device", "gpus", "supervis", "solvers", "heap (MiB)", "rss (MiB)", "cached jobs"));
        for (NodeDescription n : nodes) {
            sb.append(String.format(Locale.ROOT, "%-34s %-26s %8d %-8s %-8s %8d %8d %11.1f %10.1f  %s%n", n.getAddress(),
                    String.join(",", n.getRolesList()), n.getWorkers(), n.getDevice(), n.getVisibleGpus().isEmpty() ? "-" : n.getVisibleGpus(),
                    n.getSupervisors(), n.getSolvers(),
                    n.getHeapUsedBytes() / 1048576.0, n.getRssBytes() / 1048576.0,
                    n.getCachedJobsCount() == 0 ? "-" : String.join(",", n.getCachedJobsList())));
        }
        return sb.toString();
    }

    /**
     * [{"address", "roles", "supervisors", "solvers", "cached_jobs", "heap_used_bytes", "rss_bytes", "workers", "leader", "members",
     * "device", "visible_gpus"}, ...]
     */
    static String json(List<NodeDescription> nodes) {
        ObjectMapper json = new ObjectMapper();
        ArrayNode all = json.createArrayNode();
        for (NodeDescription n : nodes) {
            ObjectNode o = all.addObject();
            o.put("address", n.getAddress());
            o.set("roles", json.valueToTree(n.getRolesList()));
            o.put("supervisors", n.getSupervisors());
            o.put("solvers", n.getSolvers());
            o.set("cached_jobs", json.valueToTree(n.getCachedJobsList()));
            o.put("heap_used_bytes", n.getHeapUsedBytes());
            o.put("rss_bytes", n.getRssBytes());
            o.put("workers", n.getWorkers());
            o.put("leader", n.getLeader());
            o.put("members", n.getMembers());
            o.put("device", n.getDevice());
            o.put("visible_gpus", n.getVisibleGpus());
        }
        return all.toString() + "\n";
    }
}
