package io.iteris.core.store;

import io.iteris.core.TestFiles;
import io.iteris.core.TestVectors;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeOutcome;
import io.iteris.core.engine.Merger;
import io.iteris.core.engine.PublishedOutput;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.vectors.E2eCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What survives a crash: a checkpoint entry torn by an earlier crash is rewritten, not trusted; an output
 * directory records the job that published it, so publishing again is a no-op for that job and a refusal for
 * any other.
 */
class DurablePublishTest {
    @TempDir
    Path tmp;

    @Test
    void aTornCheckpointIsRewrittenInsteadOfKept() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp.resolve("store"));
        INDArray m = Matrices.of(new double[]{1, 2, 3, 4, 5, 6}, 2, 3);
        String hash = store.put(m);
        Path file;
        try (var files = Files.walk(tmp.resolve("store"))) {
            file = files.filter(f -> f.toString().endsWith(".safetensors")).findFirst().orElseThrow();
        }
        long size = Files.size(file);
        try (var ch = Files.newByteChannel(file, StandardOpenOption.WRITE)) {
            ch.truncate(size - 8); // the last value lost, as a crash before fsync can leave it
        }
        assertThrows(RuntimeException.class, () -> store.get(hash));
        assertEquals(hash, store.put(m));
        assertEquals(size, Files.size(file), "rewritten whole");
        assertArrayEquals(Matrices.toArray(m), Matrices.toArray(store.get(hash)));
    }

    @Test
    void anOutputKnowsWhichJobPublishedItSoAgainIsANoOpForThatJobAndARefusalForAnother() throws IOException {
        Path c = TestFiles.copyTree(TestVectors.of("e2e_mlp_feedback"), tmp.resolve("case"));
        MergeSettings e2e = E2eCase.open(c).iterisSettings("default", 2, tmp.resolve("out"));
        MergeSettings s = new MergeSettings(e2e.method(), e2e.base(), e2e.adapters(), e2e.calibration(), e2e.model(), e2e.out(),
                false, e2e.outputFormat(), e2e.rank(), e2e.precision(), e2e.shardSize(), e2e.root());
        Merger.LoadedJob job = Merger.load(s);
        MergeOutcome outcome = MergeEngine.LOCAL.merge(s, null);
        Merger.publish(job, outcome, 0, "job-a");
        Path out = tmp.resolve("out");
        assertTrue(PublishedOutput.ownedBy(out, "job-a"));
        assertFalse(PublishedOutput.ownedBy(out, "job-b"));
        byte[] adapter = Files.readAllBytes(out.resolve("adapter_model.safetensors"));
        long modified = Files.getLastModifiedTime(out.resolve("adapter_model.safetensors")).toMillis();

        // the same job publishing again (a supervisor recovering after the rename) keeps what is there
        Merger.publish(job, outcome, 0, "job-a");
        assertArrayEquals(adapter, Files.readAllBytes(out.resolve("adapter_model.safetensors")));
        assertEquals(modified, Files.getLastModifiedTime(out.resolve("adapter_model.safetensors")).toMillis());
        assertEquals(List.of("out"), TestFiles.list(tmp).stream().filter(n -> n.startsWith("out") || n.startsWith(".out")).toList(),
                "no staging directory left beside it");

        // another job's output (or ours, altered since) is not taken for ours
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Merger.publish(job, outcome, 0, "job-b"));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        Files.writeString(out.resolve("adapter_config.json"), "{}");
        assertFalse(PublishedOutput.ownedBy(out, "job-a"), "a file that no longer matches its recorded hash");
    }
}
