package io.iteris.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iteris.core.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Who published an output directory: {@value #FILE} inside it names the job and the SHA-256 of every other file.
 * A supervisor that recovers after its output was renamed into place, but before it recorded the job complete,
 * recognises its own output by this record and completes the job instead of refusing (or replacing) it.
 */
public final class PublishedOutput {
    public static final String FILE = "iteris-output.json";

    private PublishedOutput() {
    }

    /** Records {@code jobId} and the hash of every file in a staging directory (to be renamed into place). */
    public static void record(Path staging, String jobId) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode().put("job_id", jobId);
        ObjectNode files = root.putObject("sha256");
        hashes(staging).forEach(files::put);
        try {
            AtomicFiles.writeString(staging.resolve(FILE), json.writeValueAsString(root) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether {@code out} is a complete output published by {@code jobId}: its record names the job and every file matches. */
    public static boolean ownedBy(Path out, String jobId) {
        Path record = out.resolve(FILE);
        if (jobId == null || !Files.isRegularFile(record)) {
            return false;
        }
        try {
            JsonNode root = new ObjectMapper().readTree(record.toFile());
            if (!jobId.equals(root.path("job_id").asText(null))) {
                return false;
            }
            Map<String, String> recorded = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.path("sha256").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                recorded.put(e.getKey(), e.getValue().asText());
            }
            return !recorded.isEmpty() && recorded.equals(hashes(out));
        } catch (IOException | UncheckedIOException e) {
            return false;
        }
    }

    /** File name → SHA-256 of every regular file directly in {@code dir}, the record itself left out. */
    static Map<String, String> hashes(Path dir) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String name = f.getFileName().toString();
                if (!name.equals(FILE)) {
                    out.put(name, sha256(f));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return out;
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
