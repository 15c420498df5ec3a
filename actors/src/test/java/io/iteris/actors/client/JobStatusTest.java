package io.iteris.actors.client;

import com.google.protobuf.Message;
import io.iteris.actors.supervisor.SupervisorState;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.UnitId;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitReassigned;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobStatusTest {
    private static final String A = "pekko://iteris@10.0.0.1:25520/user/inference-worker-0#1";
    private static final String B = "pekko://iteris@10.0.0.2:25520/user/inference-worker-1#2";

    @Test
    void tellsWhereARunningJobStandsAndWhatFailuresWereHandled() {
        JobSpec spec = JobSpec.newBuilder().setJobId("j").setMethod("iteris").setIterations(3).addShardsPerTask(2)
                .addLayers("l0").addLayers("l1").build();
        List<Message> evs = new ArrayList<>(List.of(JobAccepted.newBuilder().setSpec(spec).build(),
                IterationStarted.newBuilder().setIteration(0).build(),
                WorkUnitAssigned.newBuilder().setUnit(unit(0, 0)).setWorker(A).build(),
                WorkUnitAssigned.newBuilder().setUnit(unit(0, 1)).setWorker(B).build(),
                WorkUnitCompleted.newBuilder().setUnit(unit(0, 0)).setWorker(A).build(),
                WorkUnitReassigned.newBuilder().setUnit(unit(0, 1)).setFromWorker(B).setReason("worker left").build(),
                JobResumed.newBuilder().setNode("pekko://iteris@10.0.0.1:25520").setIteration(0).build(),
                WorkUnitAssigned.newBuilder().setUnit(unit(0, 1)).setWorker(A).build(),
                WorkUnitCompleted.newBuilder().setUnit(unit(0, 1)).setWorker(A).build()));
        JobStatus s = JobStatus.of("j", envelopes(evs));
        assertEquals(SupervisorState.Status.RUNNING, s.state().status());
        assertEquals(Map.of("10.0.0.1:25520", 2), s.unitsPerNode());
        assertEquals(Map.of("worker left", 1), s.reassigned());
        assertEquals(1, s.resumed().size());
        String text = s.describe(Instant.ofEpochMilli(20_000));
        assertTrue(text.contains("iteration 1 of at most 3, units 2/2 done, layers 0/2 solved"), text);
        assertTrue(text.contains("1 work unit(s) reassigned: worker left"), text);
        assertTrue(text.contains("supervisor resumed from the journal on 10.0.0.1:25520 at iteration 1"), text);
        assertTrue(s.summary(Instant.ofEpochMilli(20_000)).contains("running"), s.summary(Instant.now()));

        evs.add(IterationCompleted.newBuilder().setIteration(0).build());
        evs.add(JobCompleted.newBuilder().setOutputPath("/out").build());
        JobStatus done = JobStatus.of("j", envelopes(evs));
        assertEquals(SupervisorState.Status.COMPLETED, done.state().status());
        assertTrue(done.describe(Instant.now()).contains("output: /out"));

        // a reader that keeps the status and folds only the new events (the console) sees the same job
        List<EventEnvelope> all = envelopes(evs);
        for (int split = 0; split <= all.size(); split++) {
            JobStatus kept = JobStatus.of("j", all.subList(0, split));
            JobStatus later = kept.then(all.subList(split, all.size()));
            assertEquals(done.describe(Instant.ofEpochMilli(20_000)), later.describe(Instant.ofEpochMilli(20_000)), "split at " + split);
            assertEquals(List.of(done.unitsPerNode(), done.reassigned(), done.resumed(), done.firstMillis(), done.lastMillis(), done.events()),
                    List.of(later.unitsPerNode(), later.reassigned(), later.resumed(), later.firstMillis(), later.lastMillis(), later.events()));
            assertEquals(done.state().toSnapshot(), later.state().toSnapshot());
        }
        assertEquals(0, JobStatus.empty("j").events());
    }

    private static UnitId unit(int task, int shard) {
        return UnitId.newBuilder().setIteration(0).setTask(task).setShard(shard).build();
    }

    private static List<EventEnvelope> envelopes(List<Message> events) {
        List<EventEnvelope> out = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            out.add(new EventEnvelope(Offset.sequence(i + 1), "iteris-job-j", i + 1, events.get(i), 1_000L * (i + 1)));
        }
        return out;
    }
}
