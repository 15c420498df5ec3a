package io.iteris.core.peft;

import java.nio.file.Path;

/** A PEFT adapter that cannot be used; the message names the file or directory, and the module. */
public class AdapterException extends RuntimeException {
    public AdapterException(Path where, String message) {
        super(where + ": " + message);
    }
}
