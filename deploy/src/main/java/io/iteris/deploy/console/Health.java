package io.iteris.deploy.console;

import io.iteris.actors.client.JobHistory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What an orchestrator's probes ask of a node ({@code /alive}, {@code /ready}): answered without the console's token and
 * revealing nothing but yes or no. Alive: the actor system runs. Ready: this node is an Up member of its cluster and the
 * journal answers a query within {@link #JOURNAL_TIMEOUT} (a node that cannot journal cannot run a job's supervisor).
 */
final class Health {
    static final Duration JOURNAL_TIMEOUT = Duration.ofSeconds(3);

    private final ActorSystem<?> system;

    Health(ActorSystem<?> system) {
        this.system = system;
    }

    boolean alive() {
        return !system.getWhenTerminated().toCompletableFuture().isDone();
    }

    CompletionStage<Boolean> ready() {
        if (!alive() || Cluster.get(system).selfMember().status() != MemberStatus.up()) {
            return CompletableFuture.completedFuture(false);
        }
        return JobHistory.probe(system, JOURNAL_TIMEOUT).handle((done, failed) -> failed == null);
    }
}
