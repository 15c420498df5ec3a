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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    /**
     * Typed commands that cross nodes travel as the .proto messages they stand for: the bytes are the message's own (so
     * a node reads them with the contract alone), and they come back equal, actor refs included.
     */
    @Test
    void typedCommandsTravelAsTheirProtobufMessages() {
        Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
        org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<io.iteris.protocol.NodeDescription> replyTo = testKit.createTestProbe();
        io.iteris.protocol.WorkUnit unit = io.iteris.protocol.WorkUnit.newBuilder().setSpec(JobSpec.newBuilder().setJobId("job-1"))
                .setAttempt(2).putWeights("layers.0.proj", "abc").build();
        io.iteris.protocol.ChunkAck ack = io.iteris.protocol.ChunkAck.newBuilder().setJobId("job-1").setChunkIndex(3).setAccepted(true).build();
        java.util.Map<Wire, Message> cases = new java.util.LinkedHashMap<>();
        cases.put(new io.iteris.actors.worker.InferenceWorker.Assign(unit), unit);
        cases.put(new io.iteris.actors.stream.ChunkSender.Ack(ack), ack);
        cases.put(new io.iteris.actors.node.NodeAgent.EndJob("job-1"), io.iteris.protocol.JobEnded.newBuilder().setJobId("job-1").build());
        cases.put(new io.iteris.actors.node.NodeAgent.Describe(true, replyTo.getRef()), io.iteris.protocol.DescribeNode.newBuilder().setGc(true)
                .setReplyTo(org.apache.pekko.actor.typed.ActorRefResolver.get(testKit.system()).toSerializationFormat(replyTo.getRef())).build());
        org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<io.iteris.actors.stream.ChunkSender.Command> sender = testKit.createTestProbe();
        org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<io.iteris.actors.supervisor.MergeSupervisor.Command> supervisor = testKit.createTestProbe();
        org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<io.iteris.protocol.JobProgress> client = testKit.createTestProbe();
        var refs = org.apache.pekko.actor.typed.ActorRefResolver.get(testKit.system());
        StatisticChunk chunk = StatisticChunk.newBuilder().setJobId("job-1").setChunkIndex(2).setChunkCount(3)
                .setData(ByteString.copyFrom(new byte[]{4, 5})).build();
        cases.put(new io.iteris.actors.solver.LayerSolver.Chunk(chunk, sender.getRef()),
                chunk.toBuilder().setReplyTo(refs.toSerializationFormat(sender.getRef())).build());
        io.iteris.protocol.SolveLayer solve = io.iteris.protocol.SolveLayer.newBuilder().setLayer("l").setIteration(2).build();
        cases.put(new io.iteris.actors.solver.LayerSolver.Solve(solve, java.util.Optional.empty()), solve);
        cases.put(new io.iteris.actors.solver.LayerSolver.Solve(solve.toBuilder().setIteration(3).build(), java.util.Optional.of(supervisor.getRef())),
                solve.toBuilder().setIteration(3).setReplyTo(refs.toSerializationFormat(supervisor.getRef())).build());
        io.iteris.protocol.SolverJob job = io.iteris.protocol.SolverJob.newBuilder().setLayer("l").setSpec(JobSpec.newBuilder().setJobId("job-1")).build();
        cases.put(new io.iteris.actors.solver.LayerSolver.Introduce(job), job);
        cases.put(new io.iteris.actors.solver.LayerSolver.EndJob("job-2"), io.iteris.protocol.JobEnded.newBuilder().setJobId("job-2").build());
        JobSpec spec = JobSpec.newBuilder().setJobId("job-3").setMethod("iteris").build();
        cases.put(new io.iteris.actors.supervisor.MergeSupervisor.Submit(spec, java.util.Optional.of(client.getRef())),
                io.iteris.protocol.SubmitJob.newBuilder().setSpec(spec).setReplyTo(refs.toSerializationFormat(client.getRef())).build());
        io.iteris.protocol.UnitId u = io.iteris.protocol.UnitId.newBuilder().setIteration(1).setTask(2).setShard(3).build();
        io.iteris.protocol.WorkUnitDone done = io.iteris.protocol.WorkUnitDone.newBuilder().setJobId("job-3").setUnit(u).setWorker("w").build();
        cases.put(new io.iteris.actors.supervisor.MergeSupervisor.UnitDone(done), done);
        io.iteris.protocol.WorkUnitFailed failed = io.iteris.protocol.WorkUnitFailed.newBuilder().setJobId("job-3").setUnit(u).setReason("r").build();
        cases.put(new io.iteris.actors.supervisor.MergeSupervisor.UnitFailed(failed), failed);
        io.iteris.protocol.LayerSolved solved = io.iteris.protocol.LayerSolved.newBuilder().setJobId("job-3").setLayer("l").addCarriedCoefficients(0.5).build();
        cases.put(new io.iteris.actors.supervisor.MergeSupervisor.Solved(solved), solved);
        io.iteris.protocol.MissingStatistics missing = io.iteris.protocol.MissingStatistics.newBuilder().setJobId("job-3").setLayer("l").build();
        cases.put(new io.iteris.actors.supervisor.MergeSupervisor.Missing(missing), missing);
        io.iteris.protocol.LayerFailed lf = io.iteris.protocol.LayerFailed.newBuilder().setJobId("job-3").setLayer("l").setReason("r").build();
        cases.put(new io.iteris.actors.supervisor.MergeSupervisor.SolveFailed(lf), lf);
        io.iteris.protocol.DescribeLayer dl = io.iteris.protocol.DescribeLayer.newBuilder().setJobId("job-3").setLayer("l").build();
        cases.put(new io.iteris.actors.supervisor.MergeSupervisor.Describe(dl), dl);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (java.util.Map.Entry<Wire, Message> c : cases.entrySet()) {
            Serializer serializer = serialization.findSerializerFor(c.getKey());
            assertEquals(ProtocolSerializer.IDENTIFIER, serializer.identifier(), c.getKey().getClass().getName());
            byte[] bytes = serialization.serialize(c.getKey()).get();
            assertArrayEquals(c.getValue().toByteArray(), bytes, "the wire bytes are the message's: " + c.getKey());
            String manifest = ((org.apache.pekko.serialization.SerializerWithStringManifest) serializer).manifest(c.getKey());
            seen.add(manifest);
            assertEquals(c.getKey(), serialization.deserialize(bytes, serializer.identifier(), manifest).get());
        }
        assertEquals(ProtocolSerializer.manifests(), seen, "every command the serializer knows is checked here");
    }
}
