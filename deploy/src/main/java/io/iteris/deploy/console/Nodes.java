package io.iteris.deploy.console;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iteris.actors.client.ClusterNodes;
import io.iteris.protocol.NodeDescription;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** The cluster as this node sees it (members, reachability) and as each node describes itself (entities, memory). */
final class Nodes {
    /** How long the console waits for the node agents' answers; a node that does not answer is shown without them. */
    static final Duration ASK = Duration.ofSeconds(5);

    private final ActorSystem<?> system;

    Nodes(ActorSystem<?> system) {
        this.system = system;
    }

    /** Every member, this node included: {@code /api/nodes}. */
    CompletionStage<ArrayNode> describe() {
        // ClusterNodes waits for the membership to converge: on the blocking dispatcher, never on the server's threads
        return CompletableFuture.supplyAsync(this::descriptions, system.dispatchers().lookup(DispatcherSelector.blocking()))
                .thenApply(this::json);
    }

    private Map<String, NodeDescription> descriptions() {
        Map<String, NodeDescription> byAddress = new HashMap<>();
        try {
            for (NodeDescription d : ClusterNodes.describe(system, false, ASK, true)) {
                byAddress.put(d.getAddress(), d);
            }
        } catch (IllegalStateException e) {
            // an unreachable node's agent does not answer: the members are still listed, from the cluster state
        }
        return byAddress;
    }

    private ArrayNode json(Map<String, NodeDescription> described) {
        ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
        Set<String> unreachable = new TreeSet<>();
        state.getUnreachable().forEach(m -> unreachable.add(m.address().toString()));
        String leader = state.getLeader() == null ? "" : state.getLeader().toString();
        ArrayNode out = JobView.JSON.createArrayNode();
        List<Member> members = new java.util.ArrayList<>();
        state.getMembers().forEach(members::add);
        members.sort(java.util.Comparator.comparing(m -> m.address().toString()));
        for (Member m : members) {
            String address = m.address().toString();
            ObjectNode n = out.addObject().put("address", address).put("host_port", hostPort(address))
                    .put("status", m.status().toString().toLowerCase(Locale.ROOT)).put("reachable", !unreachable.contains(address))
                    .put("leader", address.equals(leader)).put("self", address.equals(system.address().toString()));
            ArrayNode roles = n.putArray("roles");
            new TreeSet<>(m.getRoles()).stream().filter(r -> !r.startsWith("dc-")).forEach(roles::add);
            NodeDescription d = described.get(address);
            n.put("described", d != null);
            if (d != null) {
                n.put("supervisors", d.getSupervisors()).put("solvers", d.getSolvers()).put("workers", d.getWorkers())
                        .put("heap_used_bytes", d.getHeapUsedBytes()).put("rss_bytes", d.getRssBytes());
                ArrayNode cached = n.putArray("cached_jobs");
                d.getCachedJobsList().forEach(cached::add);
            }
        }
        return out;
    }

    /** {@code pekko://iteris@host:port} → {@code host:port}. */
    static String hostPort(String address) {
        int at = address.indexOf('@');
        return at < 0 ? address : address.substring(at + 1);
    }
}
