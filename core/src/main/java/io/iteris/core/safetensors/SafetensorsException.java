package io.iteris.core.safetensors;

import java.nio.file.Path;

/** A malformed or unreadable safetensors file; the message always names the file, and the tensor when there is one. */
public class SafetensorsException extends RuntimeException {
    public SafetensorsException(Path file, String message) {
        super(file + ": " + message);
    }

    public SafetensorsException(Path file, String tensor, String message) {
        super(file + ": tensor '" + tensor + "': " + message);
    }

    public SafetensorsException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
    }
}
