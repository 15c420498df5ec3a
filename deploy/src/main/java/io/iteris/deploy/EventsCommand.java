package io.iteris.deploy;

import com.google.protobuf.Message;
import io.iteris.actors.client.JobHistory;
import io.iteris.actors.node.IterisNode;
import io.iteris.actors.supervisor.Progress;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobFailed;
import org.apache.pekko.persistence.query.EventEnvelope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code iteris events JOB}: a job's event log, from its journal, in readable form. */
@Command(name = "events", mixinStandardHelpOptions = true, description = "Print a job's event log from the journal.")
public final class EventsCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "job id")
    String jobId;

    @Option(names = "--follow", description = "keep printing events as they are written, until the job ends")
    boolean follow;

    @Mixin
    EngineOptions engine = new EngineOptions();

    @Override
    public Integer call() throws Exception {
        // a node of its own that reads the journal: the job's local one, or the cluster's (--journal, with --cluster)
        try (IterisNode node = engine.start(jobId)) {
            if (!follow) {
                var events = JobHistory.events(node.system(), jobId);
                if (events.isEmpty()) {
                    throw new IllegalArgumentException("no events for job " + jobId + " in this journal");
                }
                events.forEach(this::print);
                return 0;
            }
            JobHistory.follow(node.system(), jobId)
                    .takeWhile(e -> {
                        print(e);
                        return !(e.event() instanceof JobCompleted || e.event() instanceof JobFailed);
                    })
                    .run(node.system()).toCompletableFuture().get(7, TimeUnit.DAYS);
        }
        return 0;
    }

    private void print(EventEnvelope e) {
        System.out.printf("%5d  %s  %-20s %s%n", e.sequenceNr(), Instant.ofEpochMilli(e.timestamp()),
                ((Message) e.event()).getDescriptorForType().getName(), Progress.describe((Message) e.event()));
    }
}
