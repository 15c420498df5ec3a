package io.iteris.core.vectors;

import io.iteris.core.TestVectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every golden case, computed from its inputs alone, within the tolerances of the vectors' README. */
class GoldenVectorsTest {

    static Stream<String> cases() {
        return VectorSuite.cases(TestVectors.root()).stream().map(p -> p.getFileName().toString());
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesExpected(String name, @TempDir Path out) {
        VectorSuite.CaseCheck check = VectorSuite.run(TestVectors.of(name), out);
        System.out.printf("%s: %d keys compared, worst %s rel err %.3e (tol %.1e)%n", name, check.compared(),
                check.worstKey(), check.worstError(), check.tolerance());
        assertTrue(check.hasExpected(), "case has expected files");
        assertTrue(check.missing().isEmpty(), "results missing: " + check.missing());
        assertTrue(check.compared() > 0, "nothing compared");
        assertTrue(check.failures().isEmpty(), name + ": over tolerance: " + check.failures());
        assertTrue(check.passed());
        assertTrue(Files.exists(out.resolve(name)));
    }
}
