package io.iteris.core;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** The golden vectors copied into the test resources, so a fresh clone needs nothing outside the repo. */
public final class TestVectors {
    private TestVectors() {
    }

    public static Path root() {
        try {
            return Path.of(TestVectors.class.getResource("/vectors/index.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path of(String name) {
        return root().resolve(name);
    }
}
