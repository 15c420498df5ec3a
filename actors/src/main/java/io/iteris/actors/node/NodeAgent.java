package io.iteris.actors.node;

import com.google.protobuf.Message;
import io.iteris.actors.Entities;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.metrics.ProcessMemory;
import io.iteris.protocol.DescribeNode;
import io.iteris.protocol.JobEnded;
import io.iteris.protocol.NodeDescription;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One per node, found through the Receptionist ({@link Entities#NODE_AGENTS}): drops what this node keeps of a
 * job when the job ends ({@link JobEnded}: the cached inputs and model session, and through the node's
 * workers their shard features), and describes the node ({@link DescribeNode}: live supervisors and solvers,
 * cached jobs, memory) for {@code iteris status --nodes}.
 */
public final class NodeAgent {
    private NodeAgent() {
    }

    public static Behavior<Message> create(List<String> roles, List<ActorRef<Message>> workers) {
        return Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(Entities.NODE_AGENTS, ctx.getSelf()));
            ActorRefResolver refs = ActorRefResolver.get(ctx.getSystem());
            return Behaviors.receive(Message.class)
                    .onMessage(JobEnded.class, e -> {
                        JobCache.get(ctx.getSystem()).evict(e.getJobId());
                        workers.forEach(w -> w.tell(e));
                        return Behaviors.same();
                    })
                    .onMessage(DescribeNode.class, d -> {
                        ActorRef<Message> replyTo = refs.resolveActorRef(d.getReplyTo());
                        describe(ctx.getSystem(), roles, workers.size(), d.getGc()).thenAccept(replyTo::tell);
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    private static CompletionStage<NodeDescription> describe(ActorSystem<?> system, List<String> roles, int workers, boolean gc) {
        CompletionStage<Integer> supervisors = live(system, Entities.SUPERVISOR, roles.contains("supervisor"));
        CompletionStage<Integer> solvers = live(system, Entities.SOLVER, roles.contains("solver"));
        return supervisors.thenCombine(solvers, (sup, sol) -> {
            if (gc) {
                System.gc();
            }
            return NodeDescription.newBuilder().setAddress(system.address().toString()).addAllRoles(roles)
                    .setSupervisors(sup).setSolvers(sol).addAllCachedJobs(JobCache.get(system).cachedJobs()).setWorkers(workers)
                    .setHeapUsedBytes(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed())
                    .setRssBytes(ProcessMemory.bytes("self", "VmRSS")).setLeader(leader(system)).setMembers(upMembers(system)).build();
        });
    }

    /** Entities of a type alive on this node (0 without the role: the node then only proxies). */
    private static CompletionStage<Integer> live(ActorSystem<?> system, EntityTypeKey<Message> key, boolean hosted) {
        if (!hosted) {
            return CompletableFuture.completedFuture(0);
        }
        return AskPattern.<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
                        ClusterSharding.get(system).shardState(), reply -> new GetShardRegionState(key, reply),
                        Duration.ofSeconds(10), system.scheduler())
                .thenApply(s -> s.getShards().stream().mapToInt(shard -> shard.getEntityIds().size()).sum());
    }

    private static String leader(ActorSystem<?> system) {
        org.apache.pekko.actor.Address a = Cluster.get(system).state().getLeader();
        return a == null ? "" : a.toString();
    }

    private static int upMembers(ActorSystem<?> system) {
        int n = 0;
        for (Member m : Cluster.get(system).state().getMembers()) {
            n += m.status() == MemberStatus.up() ? 1 : 0;
        }
        return n;
    }
}
