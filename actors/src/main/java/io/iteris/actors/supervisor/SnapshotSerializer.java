package io.iteris.actors.supervisor;

import com.google.protobuf.InvalidProtocolBufferException;
import io.iteris.protocol.SupervisorSnapshot;
import org.apache.pekko.serialization.SerializerWithStringManifest;

import java.io.NotSerializableException;

/**
 * A supervisor's snapshot: its {@link SupervisorState} as the Protobuf {@code SupervisorSnapshot}, so snapshots, like the
 * journal, are Protobuf (Java serialization stays off). Bound in {@code iteris-cluster.conf}.
 */
public final class SnapshotSerializer extends SerializerWithStringManifest {
    /** Pekko keeps 0..40 for itself; {@code ProtocolSerializer} is 7301. */
    static final int IDENTIFIER = 7302;
    static final String MANIFEST = "SupervisorSnapshot";

    @Override
    public int identifier() {
        return IDENTIFIER;
    }

    @Override
    public String manifest(Object o) {
        return MANIFEST;
    }

    @Override
    public byte[] toBinary(Object o) {
        if (o instanceof SupervisorState s) {
            return s.toSnapshot().toByteArray();
        }
        throw new IllegalArgumentException("not a supervisor's state: " + o.getClass().getName());
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
        if (!MANIFEST.equals(manifest)) {
            throw new NotSerializableException("unknown snapshot manifest '" + manifest + "' (this version reads " + MANIFEST + ")");
        }
        try {
            return SupervisorState.fromSnapshot(SupervisorSnapshot.parseFrom(bytes));
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            throw new NotSerializableException("a supervisor's snapshot does not parse: " + e.getMessage());
        }
    }
}
