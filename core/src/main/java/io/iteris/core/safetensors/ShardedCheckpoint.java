package io.iteris.core.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** A HuggingFace sharded checkpoint: {@code *.safetensors.index.json} with a {@code weight_map} onto shard files. */
public final class ShardedCheckpoint implements TensorSource {
    private final Path index;
    private final Map<String, String> weightMap;
    private final Map<String, String> metadata;
    private final Map<String, SafetensorsFile> shards = new HashMap<>();

    private ShardedCheckpoint(Path index, Map<String, String> weightMap, Map<String, String> metadata) {
        this.index = index;
        this.weightMap = weightMap;
        this.metadata = metadata;
    }

    public static ShardedCheckpoint open(Path index) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(index));
        } catch (IOException e) {
            throw new SafetensorsException(index, "cannot read index: " + e.getMessage(), e);
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new SafetensorsException(index, "index has no weight_map object");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        wm.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(index, e.getKey(), "weight_map value is not a file name");
            }
            String file = e.getValue().asText();
            if (file.contains("/") || file.contains("\\") || file.startsWith(".")) {
                throw new SafetensorsException(index, e.getKey(), "shard file name '" + file + "' must be a plain file name");
            }
            weightMap.put(e.getKey(), file);
        });
        Map<String, String> meta = new LinkedHashMap<>();
        JsonNode md = root.get("metadata");
        if (md != null && md.isObject()) {
            md.fields().forEachRemaining(e -> meta.put(e.getKey(), e.getValue().asText()));
        }
        ShardedCheckpoint ck = new ShardedCheckpoint(index, Collections.unmodifiableMap(weightMap),
                Collections.unmodifiableMap(meta));
        for (String file : Set.copyOf(weightMap.values())) {
            ck.shard(file);
        }
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            if (!ck.shard(e.getValue()).contains(e.getKey())) {
                throw new SafetensorsException(index, e.getKey(), "listed in weight_map but missing from shard " + e.getValue());
            }
        }
        return ck;
    }

    private SafetensorsFile shard(String file) {
        return shards.computeIfAbsent(file, f -> SafetensorsFile.open(index.resolveSibling(f)));
    }

    private SafetensorsFile shardOf(String name) {
        String file = weightMap.get(name);
        if (file == null) {
            throw new SafetensorsException(index, name, "not found in weight_map");
        }
        return shard(file);
    }

    @Override
    public Path location() {
        return index;
    }

    @Override
    public Set<String> names() {
        return weightMap.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    @Override
    public long[] readIntegers(String name) {
        return shardOf(name).readIntegers(name);
    }

    @Override
    public double[] readDoubles(String name) {
        return shardOf(name).readDoubles(name);
    }

    @Override
    public float[] readFloats(String name) {
        return shardOf(name).readFloats(name);
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }
}
