package io.iteris.core.peft;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.SafetensorsFile;
import io.iteris.core.safetensors.TensorInfo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A HuggingFace PEFT LoRA adapter directory: {@code adapter_config.json} + {@code adapter_model.safetensors},
 * with keys {@code base_model.model.<module>.lora_A.weight} and {@code .lora_B.weight}.
 * Loading checks every tensor against the config and rejects NaN and infinity.
 */
public final class PeftAdapter {
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    public static final String KEY_PREFIX = "base_model.model.";
    private static final Pattern KEY = Pattern.compile("^base_model\\.model\\.(.+)\\.lora_([AB])(?:\\.[^.]+)?\\.weight$");

    private final Path directory;
    private final LoraConfig config;
    private final Map<String, LoraModule> modules;

    private PeftAdapter(Path directory, LoraConfig config, Map<String, LoraModule> modules) {
        this.directory = directory;
        this.config = config;
        this.modules = modules;
    }

    public static PeftAdapter load(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new AdapterException(directory, "not a directory (a PEFT adapter is a directory with "
                    + LoraConfig.FILE_NAME + " and " + WEIGHTS_FILE + ")");
        }
        LoraConfig config = LoraConfig.read(directory.resolve(LoraConfig.FILE_NAME));
        Path weights = directory.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            String hint = Files.exists(directory.resolve("adapter_model.bin"))
                    ? " (found adapter_model.bin: PyTorch pickles are not read; save the adapter with safe_serialization=True)" : "";
            throw new AdapterException(weights, "missing" + hint);
        }
        SafetensorsFile file = SafetensorsFile.open(weights);
        Map<String, String[]> keys = new TreeMap<>();
        for (String name : file.names()) {
            Matcher m = KEY.matcher(name);
            if (!m.matches()) {
                throw new AdapterException(weights, "tensor '" + name + "' is not a LoRA weight ("
                        + KEY_PREFIX + "<module>.lora_A.weight / .lora_B.weight); embeddings, DoRA magnitudes and "
                        + "modules_to_save cannot be merged");
            }
            String[] pair = keys.computeIfAbsent(m.group(1), k -> new String[2]);
            int i = m.group(2).equals("A") ? 0 : 1;
            if (pair[i] != null) {
                // e.g. x.lora_A.weight beside x.lora_A.default.weight: two adapters' factors in one file
                throw new AdapterException(weights, "module '" + m.group(1) + "' has two lora_" + m.group(2) + " tensors, '"
                        + pair[i] + "' and '" + name + "'; an adapter file holds one adapter (save each with its own directory)");
            }
            pair[i] = name;
        }
        if (keys.isEmpty()) {
            throw new AdapterException(weights, "holds no LoRA weights");
        }
        Map<String, LoraModule> modules = new TreeMap<>(ModuleOrder.COMPARATOR);
        for (Map.Entry<String, String[]> e : keys.entrySet()) {
            modules.put(e.getKey(), readModule(file, config, e.getKey(), e.getValue()));
        }
        return new PeftAdapter(directory, config, Collections.unmodifiableMap(modules));
    }

    private static LoraModule readModule(SafetensorsFile file, LoraConfig config, String module, String[] names) {
        Path where = file.location();
        if (names[0] == null || names[1] == null) {
            throw new AdapterException(where, "module '" + module + "' has lora_" + (names[0] == null ? "B" : "A")
                    + " but no lora_" + (names[0] == null ? "A" : "B"));
        }
        TensorInfo a = file.info(names[0]);
        TensorInfo b = file.info(names[1]);
        if (a.rank() != 2 || b.rank() != 2) {
            throw new AdapterException(where, "module '" + module + "': lora_A " + a.shapeString() + " and lora_B "
                    + b.shapeString() + " must both be matrices");
        }
        long r = a.shape()[0];
        if (b.shape()[1] != r) {
            throw new AdapterException(where, "module '" + module + "': lora_A " + a.shapeString()
                    + " and lora_B " + b.shapeString() + " disagree on the rank");
        }
        int declared = config.rankFor(module);
        if (declared != r) {
            throw new AdapterException(where, "module '" + module + "': " + LoraConfig.FILE_NAME + " says r = " + declared
                    + " but the tensors have rank " + r);
        }
        double[] av = file.readDoubles(names[0]);
        double[] bv = file.readDoubles(names[1]);
        checkFinite(where, names[0], av);
        checkFinite(where, names[1], bv);
        return new LoraModule(module, Matrices.of(av, r, a.shape()[1]), Matrices.of(bv, b.shape()[0], r),
                config.scaleFor(module));
    }

    private static void checkFinite(Path where, String tensor, double[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new AdapterException(where, "tensor '" + tensor + "' holds " + v[i] + " at flat index " + i);
            }
        }
    }

    public Path directory() {
        return directory;
    }

    public LoraConfig config() {
        return config;
    }

    /** Modules in natural order (numbers in names compare as numbers: layers.2 before layers.10). */
    public Map<String, LoraModule> modules() {
        return modules;
    }

    public LoraModule module(String name) {
        LoraModule m = modules.get(name);
        if (m == null) {
            throw new AdapterException(directory, "has no LoRA for module '" + name + "'");
        }
        return m;
    }
}
