package io.iteris.bench;

import io.iteris.core.model.onnx.WordPieceTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Where the iteris installation lives (bin/iteris passes it), for the files it ships. */
public final class Installation {
    static final String MINILM = "all-minilm-l6-v2.onnx";
    static final String MINILM_TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    private Installation() {
    }

    public static Path home() {
        return Path.of(System.getProperty("iteris.home", "."));
    }

    /**
     * A script the installation ships in deploy/ (certs.sh, local-cluster.sh), from the home or, in a module's
     * tests (the module directory is the home), beside it or in the sibling deploy/.
     */
    public static Path script(String name) {
        for (Path p : List.of(home().resolve("deploy").resolve(name), home().resolve(name), home().resolve("../deploy").resolve(name))) {
            if (Files.isRegularFile(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new IllegalArgumentException("deploy/" + name + " not found under " + home().toAbsolutePath());
    }

    /**
     * all-MiniLM-L6-v2's ONNX export, which the build unpacks into deploy/target/models (from the Maven
     * Central artifact the pom names); found from the iteris home or, in the deploy module's tests, beside it.
     */
    public static Path minilm() {
        for (Path dir : List.of(home().resolve("deploy/target/models"), home().resolve("target/models"))) {
            if (Files.isRegularFile(dir.resolve(MINILM))) {
                return dir.resolve(MINILM);
            }
        }
        throw new IllegalArgumentException(MINILM + " not found under " + home().toAbsolutePath().resolve("deploy/target/models")
                + ": the build unpacks it there (./mvnw -B install, or let bin/iteris build)");
    }

    public static WordPieceTokenizer minilmTokenizer() {
        Path file = minilm().resolveSibling(MINILM_TOKENIZER);
        try (InputStream in = Files.newInputStream(file)) {
            return WordPieceTokenizer.read(in, file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }
}
