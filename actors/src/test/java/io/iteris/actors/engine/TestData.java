package io.iteris.actors.engine;

import java.nio.file.Path;

/** Test data inside the repository: the golden vectors kept in core's test resources. */
final class TestData {
    private TestData() {
    }

    static Path vectors(String name) {
        return Path.of("..", "core", "src", "test", "resources", "vectors", name).toAbsolutePath().normalize();
    }
}
