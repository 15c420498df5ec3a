package io.iteris.actors.client;

import io.iteris.actors.Entities;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.JobSpec;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Submits a job and follows it to its end. The submission is repeated every few seconds (it is idempotent),
 * which also re-subscribes to a supervisor that was restarted on another node.
 */
public final class JobClient {
    private JobClient() {
    }

    /** Submits {@code spec} and blocks until the job completes or fails; returns the final progress. */
    public static JobProgress run(ActorSystem<?> system, JobSpec spec, Consumer<JobProgress> onProgress, Duration timeout) {
        CompletableFuture<JobProgress> result = new CompletableFuture<>();
        // A client whose own node stops can never hear the end of the job: stop waiting instead of timing out.
        system.getWhenTerminated().whenComplete((done, e) -> result.completeExceptionally(new IllegalStateException(
                "the client node stopped while following job " + spec.getJobId() + "; the job goes on in the cluster")));
        system.systemActorOf(follower(spec, onProgress, result), "job-client-" + spec.getJobId() + "-" + System.nanoTime(), Props.empty());
        try {
            return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("job " + spec.getJobId() + " did not finish within " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** What the follower hears: its supervisor's progress, and its own timer. */
    private sealed interface Heard {
    }

    private record Progressed(JobProgress progress) implements Heard {
    }

    /** Time to submit again: the supervisor may have moved, or not heard the first time. */
    private enum Resubmit implements Heard { INSTANCE }

    private static Behavior<Heard> follower(JobSpec spec, Consumer<JobProgress> onProgress, CompletableFuture<JobProgress> result) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            MergeSupervisor.Submit submit = new MergeSupervisor.Submit(spec, Optional.of(ctx.messageAdapter(JobProgress.class, Progressed::new)));
            Entities.tellSupervisor(ctx.getSystem(), spec.getJobId(), submit);
            timers.startTimerWithFixedDelay(Resubmit.INSTANCE, Duration.ofSeconds(3));
            return Behaviors.receive(Heard.class)
                    .onMessage(Resubmit.class, t -> {
                        Entities.tellSupervisor(ctx.getSystem(), spec.getJobId(), submit);
                        return Behaviors.same();
                    })
                    .onMessage(Progressed.class, progressed -> {
                        JobProgress p = progressed.progress();
                        onProgress.accept(p);
                        if (p.getCompleted() || p.getFailed()) {
                            result.complete(p);
                            return Behaviors.stopped();
                        }
                        return Behaviors.same();
                    })
                    .build();
        }));
    }
}
