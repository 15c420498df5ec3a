package io.iteris.actors.client;

import io.iteris.actors.Entities;
import io.iteris.actors.node.NodeAgent;
import io.iteris.protocol.NodeDescription;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/** Every other member of the cluster, described by its node agent: what {@code iteris status --nodes} prints. */
public final class ClusterNodes {
    private ClusterNodes() {
    }

    /**
     * Asks every Up member but this one (waiting, within {@code timeout}, until each one's agent is listed and the
     * membership has converged).
     *
     * @param gc run a full GC on each node first, so heap_used_bytes is the heap after GC
     */
    public static List<NodeDescription> describe(ActorSystem<?> system, boolean gc, Duration timeout) {
        return describe(system, gc, timeout, false);
    }

    /** As {@link #describe(ActorSystem, boolean, Duration)}, this node included when {@code withSelf} (a node's console). */
    public static List<NodeDescription> describe(ActorSystem<?> system, boolean gc, Duration timeout, boolean withSelf) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String self = system.address().toString();
        Set<ActorRef<NodeAgent.Command>> agents;
        while (true) {
            Set<String> members = new TreeSet<>();
            for (Member m : Cluster.get(system).state().getMembers()) {
                if (m.status() == MemberStatus.up() && (withSelf || !m.address().toString().equals(self))) {
                    members.add(m.address().toString());
                }
            }
            agents = find(system, timeout);
            Set<String> listed = new TreeSet<>();
            agents.forEach(a -> listed.add(address(system, a)));
            if ((listed.containsAll(members) && converged(system)) || System.nanoTime() > deadline) {
                agents.removeIf(a -> !members.contains(address(system, a)));
                break;
            }
            sleep();
        }
        List<CompletableFuture<NodeDescription>> asked = new ArrayList<>();
        for (ActorRef<NodeAgent.Command> agent : agents) {
            CompletionStage<NodeDescription> answer = AskPattern.ask(agent,
                    (ActorRef<NodeDescription> replyTo) -> new NodeAgent.Describe(gc, replyTo), timeout, system.scheduler());
            asked.add(answer.toCompletableFuture());
        }
        List<NodeDescription> out = new ArrayList<>();
        for (CompletableFuture<NodeDescription> f : asked) {
            try {
                out.add(f.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
            } catch (Exception e) {
                throw new IllegalStateException("a node did not describe itself within " + timeout + " (" + self + " asked): " + e.getMessage(), e);
            }
        }
        out.sort(Comparator.comparing(NodeDescription::getAddress));
        return out;
    }

    /** The node an agent runs on (this node's own agent has a local address, without host and port). */
    private static String address(ActorSystem<?> system, ActorRef<?> agent) {
        var a = agent.path().address();
        return (a.hasLocalScope() ? system.address() : a).toString();
    }

    /**
     * Whether every member has seen the latest membership (this node's own join included), so that the nodes
     * asked agree on the members and the leader.
     */
    private static boolean converged(ActorSystem<?> system) {
        var state = Cluster.get(system).state();
        Set<String> seen = new TreeSet<>();
        state.getSeenBy().forEach(a -> seen.add(a.toString()));
        for (Member m : state.getMembers()) {
            if (!seen.contains(m.address().toString())) {
                return false;
            }
        }
        return true;
    }

    private static Set<ActorRef<NodeAgent.Command>> find(ActorSystem<?> system, Duration timeout) {
        try {
            Receptionist.Listing listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
                    reply -> Receptionist.find(Entities.NODE_AGENTS, reply), timeout, system.scheduler())
                    .toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new java.util.HashSet<>(listing.getServiceInstances(Entities.NODE_AGENTS));
        } catch (Exception e) {
            throw new IllegalStateException("cannot list the cluster's nodes: " + e.getMessage(), e);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
