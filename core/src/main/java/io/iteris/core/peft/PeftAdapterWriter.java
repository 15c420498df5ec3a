package io.iteris.core.peft;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iteris.core.AtomicFiles;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Writes LoRA factors as a PEFT adapter directory with one rank and alpha for every module. */
public final class PeftAdapterWriter {
    private PeftAdapterWriter() {
    }

    /**
     * @param factors module name → its {@link LoraModule} (A [r×in], B [out×r]); scale comes from r and alpha
     */
    public static void write(Path dir, Map<String, LoraModule> factors, int r, double alpha, List<String> targetModules,
                             String baseModel) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (Map.Entry<String, LoraModule> e : factors.entrySet()) {
            String key = PeftAdapter.KEY_PREFIX + e.getKey();
            w.add(key + ".lora_A.weight", DType.F32, e.getValue().a().shape(), Matrices.toArray(e.getValue().a()));
            w.add(key + ".lora_B.weight", DType.F32, e.getValue().b().shape(), Matrices.toArray(e.getValue().b()));
        }
        w.write(dir.resolve(PeftAdapter.WEIGHTS_FILE));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = json.createObjectNode();
        c.put("peft_type", "LORA").put("r", r).put("lora_alpha", alpha).put("use_rslora", false)
                .put("fan_in_fan_out", false).put("base_model_name_or_path", baseModel)
                .put("lora_dropout", 0.0).put("bias", "none").put("inference_mode", true);
        ArrayNode tm = c.putArray("target_modules");
        targetModules.forEach(tm::add);
        try {
            AtomicFiles.writeString(dir.resolve(LoraConfig.FILE_NAME), json.writeValueAsString(c) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
