package io.iteris.actors.node;

import io.iteris.actors.Entities;
import io.iteris.actors.Wire;
import io.iteris.actors.worker.InferenceWorker;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.metrics.ProcessMemory;
import io.iteris.protocol.NodeDescription;
import org.apache.pekko.actor.typed.ActorRef;
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
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One per node, found through the Receptionist ({@link Entities#NODE_AGENTS}): drops what this node keeps of a
 * job when the job ends ({@link EndJob}: the cached inputs and model session, and through the node's
 * workers their shard features), and describes the node ({@link Describe}: live supervisors and solvers,
 * cached jobs, memory) for {@code iteris status --nodes}.
 */
public final class NodeAgent {
    /** What a node agent is told. */
    public sealed interface Command {
    }

    /** A job ended (from its supervisor): drop what this node keeps of it. */
    public record EndJob(String jobId) implements Command, Wire {
    }

    /** Describe this node to {@code replyTo} (a client, or a console); with {@code gc}, after a full GC. */
    public record Describe(boolean gc, ActorRef<NodeDescription> replyTo) implements Command, Wire {
    }

    private NodeAgent() {
    }

    public static Behavior<Command> create(List<String> roles, List<ActorRef<InferenceWorker.Command>> workers) {
        return Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(Entities.NODE_AGENTS, ctx.getSelf()));
            return Behaviors.receive(Command.class)
                    .onMessage(EndJob.class, e -> {
                        JobCache.get(ctx.getSystem()).evict(e.jobId());
                        workers.forEach(w -> w.tell(new InferenceWorker.EndJob(e.jobId())));
                        return Behaviors.same();
                    })
                    .onMessage(Describe.class, d -> {
                        describe(ctx.getSystem(), roles, workers.size(), d.gc()).thenAccept(d.replyTo()::tell);
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
                    .setRssBytes(ProcessMemory.bytes("self", "VmRSS")).setLeader(leader(system)).setMembers(upMembers(system))
                    .setDevice(system.settings().config().getString("iteris.engine.worker.device"))
                    .setVisibleGpus(Objects.requireNonNullElse(System.getenv("CUDA_VISIBLE_DEVICES"), "")).build();
        });
    }

    /** Entities of a type alive on this node (0 without the role: the node then only proxies). */
    private static CompletionStage<Integer> live(ActorSystem<?> system, EntityTypeKey<?> key, boolean hosted) {
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
