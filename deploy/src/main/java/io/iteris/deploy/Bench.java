package io.iteris.deploy;

import java.nio.file.Path;

/** Where the iteris installation lives (bin/iteris passes it), for the files it ships. */
final class Bench {
    private Bench() {
    }

    static Path home() {
        return Path.of(System.getProperty("iteris.home", "."));
    }
}
