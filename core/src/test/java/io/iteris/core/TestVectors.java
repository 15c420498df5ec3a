package io.iteris.core;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** The golden vectors copied into the test resources, so a fresh clone needs nothing outside the repo. */
public final class TestVectors {
    private TestVectors() {
    }

    /**
     * The vectors directory: core's test resources on disk. Other modules get this class from core's test jar, where
     * the resources are jar entries, so they find the same directory from their module directory.
     */
    public static Path root() {
        java.net.URL url = TestVectors.class.getResource("/vectors/index.json");
        try {
            if (url != null && url.getProtocol().equals("file")) {
                return Path.of(url.toURI()).getParent();
            }
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        Path source = Path.of("..", "core", "src", "test", "resources", "vectors").toAbsolutePath().normalize();
        if (!java.nio.file.Files.isRegularFile(source.resolve("index.json"))) {
            throw new IllegalStateException("golden vectors not found at " + source);
        }
        return source;
    }

    public static Path of(String name) {
        return root().resolve(name);
    }
}
