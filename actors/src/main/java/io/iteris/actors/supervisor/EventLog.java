package io.iteris.actors.supervisor;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.iteris.actors.metrics.NodeMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every persisted supervisor event also goes to the log as one JSON line (logger {@code iteris.events}),
 * so a monitoring stack can follow a job without reading the journal, and is counted in the node's metrics.
 */
public final class EventLog {
    private static final Logger log = LoggerFactory.getLogger("iteris.events");
    private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace();

    private final String jobId;
    private final String node;
    private final NodeMetrics metrics;

    EventLog(String jobId, String node, NodeMetrics metrics) {
        this.jobId = jobId;
        this.node = node;
        this.metrics = metrics;
    }

    /** After {@code event} was persisted (never on replay). */
    void log(Message event) {
        metrics.onPersisted(event);
        if (log.isInfoEnabled()) {
            log.info(line(jobId, node, event));
        }
    }

    /** {"job":…,"node":…,"event":"WorkUnitAssigned","at":…,"data":{…}} */
    public static String line(String jobId, String node, Message event) {
        String data;
        try {
            data = JSON.print(event);
        } catch (InvalidProtocolBufferException e) {
            data = "{}";
        }
        return "{\"job\":\"" + jobId + "\",\"node\":\"" + node + "\",\"event\":\"" + event.getDescriptorForType().getName()
                + "\",\"at\":" + System.currentTimeMillis() + ",\"data\":" + data + "}";
    }
}
