package io.iteris.actors.client;

import io.iteris.actors.Entities;
import com.google.protobuf.Message;
import io.iteris.actors.supervisor.SupervisorState;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A job's events read back from the journal: for {@code iteris events}, and to rebuild a finished job's outcome. */
public final class JobHistory {
    private JobHistory() {
    }

    private static JdbcReadJournal journal(ActorSystem<?> system) {
        return PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    }

    /** Every event recorded for the job so far, in order. */
    public static List<EventEnvelope> events(ActorSystem<?> system, String jobId) {
        Source<EventEnvelope, ?> src = journal(system)
                .currentEventsByPersistenceId(Entities.supervisorPersistenceId(jobId).id(), 0, Long.MAX_VALUE);
        try {
            return src.runWith(Sink.seq(), system).toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the journal for job " + jobId + ": " + e.getMessage(), e);
        }
    }

    /** The ids of every job this journal holds. */
    public static List<String> jobIds(ActorSystem<?> system) {
        String prefix = Entities.supervisorPersistenceId("").id();
        try {
            return journal(system).currentPersistenceIds().filter(id -> id.startsWith(prefix))
                    .map(id -> id.substring(prefix.length())).runWith(Sink.seq(), system).toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot list the jobs in the journal: " + e.getMessage(), e);
        }
    }

    /** Follows the job's events as they are written; {@code onEvent} sees each once. */
    public static Source<EventEnvelope, ?> follow(ActorSystem<?> system, String jobId) {
        return journal(system).eventsByPersistenceId(Entities.supervisorPersistenceId(jobId).id(), 0, Long.MAX_VALUE);
    }

    /** The job's state as its events tell it. */
    public static SupervisorState replay(ActorSystem<?> system, String jobId) {
        SupervisorState s = new SupervisorState();
        for (EventEnvelope e : events(system, jobId)) {
            s.apply((Message) e.event());
        }
        return s;
    }

    static Duration defaultTimeout() {
        return Duration.ofHours(24);
    }
}
