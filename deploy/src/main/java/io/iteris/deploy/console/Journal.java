package io.iteris.deploy.console;

import io.iteris.actors.client.JobHistory;
import io.iteris.actors.client.JobStatus;
import org.apache.pekko.actor.typed.ActorSystem;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The console's view of the journal, never blocking a thread. Each job's view is kept (the most recently read
 * {@link #KEPT}, so a node that runs for months does not hold every job it ever showed): a finished job, which cannot
 * change, is shown as kept; a running one is brought up to date with the events journaled since it was last read, so a
 * refresh folds only what is new, not the whole job again.
 */
final class Journal {
    static final int KEPT = 256;

    private final ActorSystem<?> system;
    private final Map<String, JobView> kept = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, JobView> eldest) {
            return size() > KEPT;
        }
    });

    Journal(ActorSystem<?> system) {
        this.system = system;
    }

    /** The job, or empty when the journal has no event of it. */
    CompletionStage<Optional<JobView>> job(String id) {
        JobView known = kept.get(id);
        if (known != null && known.finished()) {
            return CompletableFuture.completedFuture(Optional.of(known));
        }
        JobStatus before = known != null ? known.status() : JobStatus.empty(id);
        return JobHistory.eventsAsync(system, id, before.events() + 1).thenApply(later -> {
            JobStatus now = before.then(later);
            if (now.events() == 0) {
                return Optional.empty();
            }
            JobView v = new JobView(now);
            // two requests may read the same events at once: keep whichever saw more
            kept.merge(id, v, (a, b) -> a.status().events() >= b.status().events() ? a : b);
            return Optional.of(v);
        });
    }

    /** Every job, the most recently active first. */
    CompletionStage<List<JobView>> jobs() {
        return JobHistory.jobIdsAsync(system).thenCompose(ids -> {
            List<CompletableFuture<Optional<JobView>>> each = new ArrayList<>();
            ids.forEach(id -> each.add(job(id).toCompletableFuture()));
            return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(x -> {
                List<JobView> out = new ArrayList<>();
                each.forEach(f -> f.join().ifPresent(out::add));
                out.sort(Comparator.comparingLong((JobView v) -> v.status().lastMillis()).reversed());
                return out;
            });
        });
    }

    /** Jobs per state, every state named (0 where none): the iteris_jobs gauge. */
    static Map<String, Integer> countByState(List<JobView> jobs) {
        Map<String, Integer> n = new TreeMap<>();
        for (var s : io.iteris.actors.supervisor.SupervisorState.Status.values()) {
            n.put(s.name().toLowerCase(java.util.Locale.ROOT), 0);
        }
        jobs.forEach(j -> n.merge(j.stateName(), 1, Integer::sum));
        return n;
    }
}
