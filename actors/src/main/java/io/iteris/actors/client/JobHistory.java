package io.iteris.actors.client;

import io.iteris.actors.Entities;
import io.iteris.actors.supervisor.SupervisorEvent;
import io.iteris.actors.supervisor.SupervisorState;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/** A job's events read back from the journal: for {@code iteris events}, and to rebuild a finished job's outcome. */
public final class JobHistory {
    private JobHistory() {
    }

    private static JdbcReadJournal journal(ActorSystem<?> system) {
        return PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    }

    /** Every event recorded for the job so far, in order, without blocking the caller. */
    public static CompletionStage<List<EventEnvelope>> eventsAsync(ActorSystem<?> system, String jobId) {
        return eventsAsync(system, jobId, 0);
    }

    /** The job's events from sequence number {@code from} on, as the journal holds them now, without blocking the caller. */
    public static CompletionStage<List<EventEnvelope>> eventsAsync(ActorSystem<?> system, String jobId, long from) {
        return journal(system).currentEventsByPersistenceId(Entities.supervisorPersistenceId(jobId).id(), from, Long.MAX_VALUE)
                .runWith(Sink.seq(), system);
    }

    /** Completes when the journal answered a query (at most one id read), fails when it did not within {@code timeout}. */
    public static CompletionStage<org.apache.pekko.Done> probe(ActorSystem<?> system, Duration timeout) {
        return journal(system).currentPersistenceIds().take(1).completionTimeout(timeout).runWith(Sink.ignore(), system);
    }

    /** The ids of every job this journal holds, without blocking the caller. */
    public static CompletionStage<List<String>> jobIdsAsync(ActorSystem<?> system) {
        String prefix = Entities.supervisorPersistenceId("").id();
        return journal(system).currentPersistenceIds().filter(id -> id.startsWith(prefix))
                .map(id -> id.substring(prefix.length())).runWith(Sink.seq(), system);
    }

    /** Every event recorded for the job so far, in order. */
    public static List<EventEnvelope> events(ActorSystem<?> system, String jobId) {
        try {
            return eventsAsync(system, jobId).toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the journal for job " + jobId + ": " + e.getMessage(), e);
        }
    }

    /** The ids of every job this journal holds. */
    public static List<String> jobIds(ActorSystem<?> system) {
        try {
            return jobIdsAsync(system).toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot list the jobs in the journal: " + e.getMessage(), e);
        }
    }

    /** The job's events from the first, then each as it is written (the stream does not end by itself). */
    public static Source<EventEnvelope, ?> follow(ActorSystem<?> system, String jobId) {
        return follow(system, jobId, 0);
    }

    /** The job's events from sequence number {@code from}, then each as it is written. */
    public static Source<EventEnvelope, org.apache.pekko.NotUsed> follow(ActorSystem<?> system, String jobId, long from) {
        return journal(system).eventsByPersistenceId(Entities.supervisorPersistenceId(jobId).id(), from, Long.MAX_VALUE);
    }

    /** The job's state as its events tell it. */
    public static SupervisorState replay(ActorSystem<?> system, String jobId) {
        SupervisorState s = new SupervisorState();
        for (EventEnvelope e : events(system, jobId)) {
            s = s.apply(SupervisorEvent.of(e.event()));
        }
        return s;
    }

    static Duration defaultTimeout() {
        return Duration.ofHours(24);
    }
}
