package io.iteris.actors;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.iteris.protocol.AdapterRef;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKind;
import io.iteris.protocol.WorkUnitAssigned;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our Protobuf messages travel through Pekko's own serializer, with Java serialization off. */
class ProtocolSerializationTest {
    private static final ActorTestKit testKit = ActorTestKit.create(
            com.typesafe.config.ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0")
                    .withFallback(com.typesafe.config.ConfigFactory.parseResources("iteris-cluster.conf")));

    @AfterAll
    static void shutdown() {
        testKit.shutdownTestKit();
    }

    @Test
    void commandsAndEventsRoundTripThroughPekkoProtobufSerializer() {
        JobSpec spec = JobSpec.newBuilder().setJobId("job-1").setBasePath("/models/base").setMethod("iteris").setIterations(5)
                .addAdapters(AdapterRef.newBuilder().setName("math").setPath("/a/math").setManualCoef(0.5)).build();
        StatisticChunk chunk = StatisticChunk.newBuilder().setJobId("job-1").setKey(io.iteris.actors.stream.StatisticStreams.key("layers.0.proj", 1, 0, 0, StatisticKind.STATISTIC_H))
                .setData(ByteString.copyFrom(new byte[]{1, 2, 3})).setChunkCount(1).build();
        Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
        for (Message m : List.<Message>of(spec, chunk, WorkUnitAssigned.newBuilder().setWorker("w").build())) {
            Serializer serializer = serialization.findSerializerFor(m);
            assertTrue(serializer.getClass().getName().endsWith("ProtobufSerializer"), serializer.getClass().getName());
            byte[] bytes = serialization.serialize(m).get();
            Object back = serialization.deserialize(bytes, serializer.identifier(), m.getClass().getName()).get();
            assertEquals(m, back);
        }
        assertFalse(testKit.system().settings().config().getBoolean("pekko.actor.allow-java-serialization"));
    }
}
