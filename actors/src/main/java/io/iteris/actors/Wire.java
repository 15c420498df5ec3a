package io.iteris.actors;

/**
 * A typed command that crosses nodes. {@link ProtocolSerializer} writes it as the {@code .proto} message it carries, so
 * the wire format stays the Protobuf contract in {@code protocol/} whatever the actors' Java types.
 */
public interface Wire {
}
