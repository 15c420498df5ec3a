package io.iteris.core.safetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

final class TensorSources {
    private TensorSources() {
    }

    static TensorSource open(Path path) {
        if (!Files.isDirectory(path)) {
            if (path.getFileName().toString().endsWith(".index.json")) {
                return ShardedCheckpoint.open(path);
            }
            return SafetensorsFile.open(path);
        }
        Path index = path.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            return ShardedCheckpoint.open(index);
        }
        Path single = path.resolve("model.safetensors");
        if (Files.isRegularFile(single)) {
            return SafetensorsFile.open(single);
        }
        List<Path> candidates;
        try (Stream<Path> s = Files.list(path)) {
            candidates = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        } catch (IOException e) {
            throw new SafetensorsException(path, "cannot list directory: " + e.getMessage(), e);
        }
        if (candidates.size() == 1) {
            return SafetensorsFile.open(candidates.get(0));
        }
        throw new SafetensorsException(path, candidates.isEmpty()
                ? "directory holds no model.safetensors, model.safetensors.index.json or other .safetensors file"
                : "directory holds several .safetensors files " + candidates.stream().map(p -> p.getFileName().toString()).toList()
                + " and no model.safetensors.index.json to say how they fit together");
    }
}
