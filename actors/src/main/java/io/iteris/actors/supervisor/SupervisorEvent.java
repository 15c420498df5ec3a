package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.persistence.typed.EventAdapter;
import org.apache.pekko.persistence.typed.EventSeq;

/**
 * What a job's supervisor journals: the closed set of its events, each carrying the Protobuf message the journal
 * stores. The journal holds the messages alone ({@link #ADAPTER}), written by Pekko's Protobuf serializer as before
 * this type existed, so journals of earlier versions replay unchanged ({@code JournalFixtureTest}).
 */
public sealed interface SupervisorEvent {
    /** The message as journaled. */
    Message message();

    record Accepted(JobAccepted message) implements SupervisorEvent {}

    record IterationBegan(IterationStarted message) implements SupervisorEvent {}

    record UnitAssigned(WorkUnitAssigned message) implements SupervisorEvent {}

    record UnitCompleted(WorkUnitCompleted message) implements SupervisorEvent {}

    record UnitReassigned(WorkUnitReassigned message) implements SupervisorEvent {}

    record LayerRecorded(LayerSolvedRecorded message) implements SupervisorEvent {}

    record IterationEnded(IterationCompleted message) implements SupervisorEvent {}

    record Resumed(JobResumed message) implements SupervisorEvent {}

    record Completed(JobCompleted message) implements SupervisorEvent {}

    record Failed(JobFailed message) implements SupervisorEvent {}

    /** The event a journaled message stands for; anything else in a job's journal is refused by its type. */
    static SupervisorEvent of(Object journaled) {
        if (journaled instanceof JobAccepted m) {
            return new Accepted(m);
        } else if (journaled instanceof IterationStarted m) {
            return new IterationBegan(m);
        } else if (journaled instanceof WorkUnitAssigned m) {
            return new UnitAssigned(m);
        } else if (journaled instanceof WorkUnitCompleted m) {
            return new UnitCompleted(m);
        } else if (journaled instanceof WorkUnitReassigned m) {
            return new UnitReassigned(m);
        } else if (journaled instanceof LayerSolvedRecorded m) {
            return new LayerRecorded(m);
        } else if (journaled instanceof IterationCompleted m) {
            return new IterationEnded(m);
        } else if (journaled instanceof JobResumed m) {
            return new Resumed(m);
        } else if (journaled instanceof JobCompleted m) {
            return new Completed(m);
        } else if (journaled instanceof JobFailed m) {
            return new Failed(m);
        }
        throw new IllegalArgumentException("not an event of a job's journal: "
                + (journaled == null ? "null" : journaled.getClass().getName()));
    }

    /** Journals an event as its message (with no adapter manifest, as before), and reads it back. */
    EventAdapter<SupervisorEvent, Message> ADAPTER = new EventAdapter<>() {
        @Override
        public Message toJournal(SupervisorEvent e) {
            return e.message();
        }

        @Override
        public String manifest(SupervisorEvent event) {
            return "";
        }

        @Override
        public EventSeq<SupervisorEvent> fromJournal(Message p, String manifest) {
            return EventSeq.single(of(p));
        }
    };
}
