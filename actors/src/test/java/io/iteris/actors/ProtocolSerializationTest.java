package io.iteris.actors;

import com.typesafe.config.ConfigFactory;
import io.iteris.core.config.MergeSettings;
import io.iteris.protocol.JobSpec;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our Protobuf messages travel through Pekko's own serializer, with Java serialization off. */
class ProtocolSerializationTest {
    private static final ActorTestKit testKit = ActorTestKit.create();

    @AfterAll
    static void shutdown() {
        testKit.shutdownTestKit();
    }

    @Test
    void jobSpecRoundTripsThroughPekkoProtobufSerializer() {
        MergeSettings s = MergeSettings.from(ConfigFactory.parseMap(Map.of(
                "iteris.merge.base", "/models/base",
                "iteris.merge.out", "/tmp/merged",
                "iteris.merge.adapters", List.of(Map.of("name", "math", "path", "/a/math", "manual_coef", 0.5)))));
        JobSpec spec = JobSpecs.of("job-1", s, 5);
        Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
        Serializer serializer = serialization.findSerializerFor(spec);
        assertTrue(serializer.getClass().getName().endsWith("ProtobufSerializer"), serializer.getClass().getName());
        byte[] bytes = serialization.serialize(spec).get();
        JobSpec back = (JobSpec) serialization.deserialize(bytes, serializer.identifier(), JobSpec.class.getName()).get();
        assertEquals(spec, back);
        assertEquals(0.5, back.getAdapters(0).getManualCoef());
        assertEquals("iteris", back.getMethod());
        assertEquals(false, testKit.system().settings().config().getBoolean("pekko.actor.allow-java-serialization"));
    }
}
