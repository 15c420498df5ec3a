package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

import java.util.List;
import java.util.Set;

/** What a job's watchers are told: where the job stands, in one message, after every step. */
public final class Progress {
    private Progress() {
    }

    static JobProgress of(SupervisorState s, String message) {
        JobProgress.Builder b = JobProgress.newBuilder().setMessage(message);
        if (s.spec() != null) {
            b.setJobId(s.spec().getJobId()).setIteration(s.iteration() + 1).setIterations(s.spec().getIterations())
                    .setUnitsDone((int) s.unitsDone()).setUnits(s.units().size()).setLayersSolved(s.solved().size())
                    .setLayers(s.spec().getLayersCount());
        }
        return b.setCompleted(s.status() == SupervisorState.Status.COMPLETED)
                .setFailed(s.status() == SupervisorState.Status.FAILED)
                .setOutputPath(s.status() == SupervisorState.Status.COMPLETED ? s.outcome() : "")
                .build();
    }

    static void send(ActorContext<?> ctx, Set<ActorRef<JobProgress>> subscribers, SupervisorState s, String message) {
        JobProgress p = of(s, s.status() == SupervisorState.Status.FAILED ? "failed: " + s.outcome() : message).toBuilder()
                .setNode(ctx.getSystem().address().toString()).build();
        subscribers.forEach(sub -> sub.tell(p));
    }

    /** One line for a batch of events persisted together: its most telling event. */
    static String describe(List<SupervisorEvent> batch) {
        if (batch.isEmpty()) {
            return "";
        }
        for (Class<?> c : List.of(SupervisorEvent.Failed.class, SupervisorEvent.Completed.class, SupervisorEvent.IterationEnded.class,
                SupervisorEvent.IterationBegan.class, SupervisorEvent.UnitReassigned.class, SupervisorEvent.Resumed.class,
                SupervisorEvent.Accepted.class)) {
            for (SupervisorEvent e : batch) {
                if (c.isInstance(e)) {
                    return describe(e.message());
                }
            }
        }
        return describe(batch.get(batch.size() - 1).message());
    }

    /** One line for an event. */
    public static String describe(Message e) {
        if (e instanceof JobAccepted a) {
            return "job accepted: " + a.getSpec().getMethod() + ", " + a.getSpec().getAdaptersCount() + " adapters, "
                    + a.getSpec().getLayersCount() + " layers";
        } else if (e instanceof IterationStarted i) {
            return "iteration " + (i.getIteration() + 1) + " started";
        } else if (e instanceof WorkUnitAssigned w) {
            return "unit " + SupervisorState.key(w.getUnit()) + " assigned";
        } else if (e instanceof WorkUnitCompleted w) {
            return "unit " + SupervisorState.key(w.getUnit()) + " done";
        } else if (e instanceof WorkUnitReassigned w) {
            return "unit " + SupervisorState.key(w.getUnit()) + " reassigned (" + w.getReason() + ")";
        } else if (e instanceof LayerSolvedRecorded l) {
            return "layer " + l.getResult().getLayer() + " solved";
        } else if (e instanceof IterationCompleted i) {
            return "iteration " + (i.getIteration() + 1) + " completed"
                    + (i.getHasChange() ? String.format(", max relative change of dW %.3e", i.getMaxRelativeChange()) : "");
        } else if (e instanceof JobCompleted c) {
            return "job completed: " + c.getOutputPath();
        } else if (e instanceof io.iteris.protocol.JobResumed r) {
            return "job resumed from its journal on " + r.getNode() + " at iteration " + (r.getIteration() + 1);
        } else if (e instanceof JobFailed f) {
            return "job failed: " + f.getReason();
        }
        return e.getClass().getSimpleName();
    }
}
