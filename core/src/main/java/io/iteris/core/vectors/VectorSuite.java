package io.iteris.core.vectors;

import com.fasterxml.jackson.databind.JsonNode;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.SafetensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs a directory of golden cases: first computes every result from the input files alone, then (and
 * only then) compares with the expected files where they exist.
 */
public final class VectorSuite {
    private VectorSuite() {
    }

    /**
     * The outcome of one case: its largest relative error (key and that key's tolerance), and every key over
     * its tolerance.
     */
    public record CaseCheck(String name, int compared, List<String> missing, String worstKey, double worstError,
                            double tolerance, List<String> failures, boolean hasExpected, double seconds) {
        public boolean passed() {
            return !hasExpected || (missing.isEmpty() && compared > 0 && failures.isEmpty());
        }
    }

    /** Case directories: {@code layer_*} with case.json, {@code e2e_*} with e2e.json, sorted by name. */
    public static List<Path> cases(Path root) {
        try (Stream<Path> s = Files.list(root)) {
            List<Path> out = s.filter(Files::isDirectory)
                    .filter(d -> Files.isRegularFile(d.resolve("case.json")) || Files.isRegularFile(d.resolve("e2e.json")))
                    .sorted().toList();
            if (out.isEmpty()) {
                throw new IllegalArgumentException(root + " holds no case directories (layer_*/case.json or e2e_*/e2e.json)");
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root + ": " + e.getMessage(), e);
        }
    }

    /** Computes one case into {@code out/<case>/} on the local engine, then checks it. */
    public static CaseCheck run(Path caseDir, Path out) {
        return run(caseDir, out, MergeEngine.LOCAL);
    }

    /** Computes one case into {@code out/<case>/} with {@code engine} (end-to-end cases), then checks it. */
    public static CaseCheck run(Path caseDir, Path out, MergeEngine engine) {
        long t0 = System.nanoTime();
        Path target = out.resolve(caseDir.getFileName().toString());
        try {
            Files.createDirectories(target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + target, e);
        }
        boolean layer = Files.isRegularFile(caseDir.resolve("case.json"));
        if (layer) {
            LayerCase.open(caseDir).computeInto(target);
        } else {
            E2eCase.open(caseDir).computeInto(target, engine);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return layer ? checkLayer(caseDir, target, seconds) : checkE2e(caseDir, target, seconds);
    }

    private static CaseCheck checkLayer(Path caseDir, Path target, double seconds) {
        Path expected = caseDir.resolve("expected.safetensors");
        String name = caseDir.getFileName().toString();
        if (!Files.isRegularFile(expected)) {
            return new CaseCheck(name, 0, List.of(), null, 0, 0, List.of(), false, seconds);
        }
        JsonNode spec = LayerCase.open(caseDir).spec();
        double tol = spec.path("recommended_rel_tol_f64").asDouble(1e-9);
        Comparison c = new Comparison();
        c.compare(SafetensorsFile.open(target.resolve(LayerCase.RESULT_FILE)), SafetensorsFile.open(expected),
                key -> isScalarKey(key) ? 1e-12 : tol);
        return c.toCheck(name, seconds);
    }

    private static CaseCheck checkE2e(Path caseDir, Path target, double seconds) {
        String name = caseDir.getFileName().toString();
        E2eCase e2e = E2eCase.open(caseDir);
        double tol = e2e.spec().path("recommended_rel_tol").path("float64_pipeline").asDouble(1e-8);
        Comparison c = new Comparison();
        boolean any = false;
        for (String config : e2e.configNames()) {
            Path expected = caseDir.resolve("expected_" + config + ".safetensors");
            if (Files.isRegularFile(expected)) {
                any = true;
                c.compare(SafetensorsFile.open(target.resolve("result_" + config + ".safetensors")),
                        SafetensorsFile.open(expected), key -> tol);
            }
        }
        Path baselines = caseDir.resolve(E2eCase.BASELINES_FILE);
        if (Files.isRegularFile(baselines)) {
            any = true;
            c.compare(SafetensorsFile.open(target.resolve(E2eCase.BASELINES_FILE)), SafetensorsFile.open(baselines), key -> tol);
        }
        return any ? c.toCheck(name, seconds) : new CaseCheck(name, 0, List.of(), null, 0, 0, List.of(), false, seconds);
    }

    private static boolean isScalarKey(String key) {
        return key.endsWith("coef") || key.endsWith("omega") || key.contains("lambda_");
    }

    /** Expected keys that describe inputs or intermediate data rather than results. */
    private static boolean isResultKey(String key) {
        return !(key.startsWith("features.") || key.startsWith("xtilde_after_iter") || key.startsWith("lora_delta.")
                || key.startsWith("stats.") || key.equals("solution") || key.equals("merged_weight"));
    }

    private static final class Comparison {
        int compared;
        final List<String> missing = new ArrayList<>();
        final List<String> failures = new ArrayList<>();
        String worstKey;
        double worstError = -1;
        double worstTol;

        void compare(SafetensorsFile got, SafetensorsFile expected, java.util.function.ToDoubleFunction<String> tolerance) {
            for (String key : expected.names()) {
                if (!isResultKey(key)) {
                    continue;
                }
                if (!got.contains(key)) {
                    missing.add(key);
                    continue;
                }
                double[] g = got.readDoubles(key);
                double[] e = expected.readDoubles(key);
                double err;
                if (g.length != e.length) {
                    err = Double.POSITIVE_INFINITY;
                } else {
                    double[] diff = new double[g.length];
                    for (int i = 0; i < g.length; i++) {
                        diff[i] = g[i] - e[i];
                    }
                    double denom = Matrices.frobenius(e);
                    err = denom == 0 ? Matrices.frobenius(diff) : Matrices.frobenius(diff) / denom;
                }
                double tol = tolerance.applyAsDouble(key);
                compared++;
                if (Double.isNaN(err)) {
                    err = Double.POSITIVE_INFINITY;
                }
                if (err > tol) {
                    failures.add(key + " (" + err + " > " + tol + ")");
                }
                if (err > worstError) {
                    worstKey = key;
                    worstError = err;
                    worstTol = tol;
                }
            }
        }

        CaseCheck toCheck(String name, double seconds) {
            return new CaseCheck(name, compared, List.copyOf(missing), worstKey, worstError, worstTol, List.copyOf(failures), true, seconds);
        }
    }
}
