package io.iteris.core.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iteris.core.AtomicFiles;
import io.iteris.core.peft.LoraConfig;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Makes the tiny example in {@code examples/demo} (the command-line examples and tests merge it in well under
 * a second): a tanh MLP, three task LoRAs, and per task
 * its own input distribution (a different mean and a different low-dimensional subspace), with a few
 * calibration samples and a larger held-out set. Deterministic for a seed; the repository ships its output
 * under {@code examples/demo}.
 */
public final class DemoExample {
    public static final List<String> TASKS = List.of("shift", "swirl", "spread");
    public static final int[] DIMS = {24, 48, 48, 12};
    public static final List<String> LAYERS = List.of("layers.0.proj", "layers.1.proj", "layers.2.proj");
    public static final int RANK = 4;
    public static final int CALIBRATION_SAMPLES = 16;
    public static final int HELDOUT_SAMPLES = 64;
    public static final int TOKENS = 4;

    private DemoExample() {
    }

    public static void generate(Path dir, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        SafetensorsWriter base = new SafetensorsWriter().metadata("format", "pt").metadata("architecture", "tanh-mlp");
        for (int k = 0; k < LAYERS.size(); k++) {
            int in = DIMS[k];
            int out = DIMS[k + 1];
            base.add(LAYERS.get(k) + ".weight", DType.F32, new long[]{out, in}, gaussian(rng, out * in, 1.0 / Math.sqrt(in)));
            base.add(LAYERS.get(k) + ".bias", DType.F32, new long[]{out}, gaussian(rng, out, 0.05));
        }
        base.write(dir.resolve("base/model.safetensors"));
        writeModelJson(dir.resolve("base/model.json"));
        SafetensorsWriter calibration = new SafetensorsWriter().metadata("layout", "[samples, tokens, features]");
        SafetensorsWriter heldout = new SafetensorsWriter().metadata("layout", "[samples, tokens, features]");
        for (String task : TASKS) {
            writeAdapter(dir.resolve("adapters/" + task), rng);
            double[] mean = gaussian(rng, DIMS[0], 0.8);
            int sub = 6;
            double[] mix = gaussian(rng, sub * DIMS[0], 1.0 / Math.sqrt(sub));
            calibration.add(task + ".input", DType.F32, new long[]{CALIBRATION_SAMPLES, TOKENS, DIMS[0]},
                    samples(rng, CALIBRATION_SAMPLES, mean, mix, sub));
            heldout.add(task + ".input", DType.F32, new long[]{HELDOUT_SAMPLES, TOKENS, DIMS[0]},
                    samples(rng, HELDOUT_SAMPLES, mean, mix, sub));
        }
        calibration.write(dir.resolve("calibration.safetensors"));
        heldout.write(dir.resolve("heldout.safetensors"));
    }

    /** x = mean + z·mix + small isotropic noise, z ~ N(0, I_sub): each task lives near its own subspace. */
    private static double[] samples(SplittableRandom rng, int count, double[] mean, double[] mix, int sub) {
        int d = mean.length;
        double[] out = new double[count * TOKENS * d];
        for (int row = 0; row < count * TOKENS; row++) {
            double[] z = gaussian(rng, sub, 1.0);
            for (int j = 0; j < d; j++) {
                double v = mean[j] + 0.05 * rng.nextGaussian();
                for (int s = 0; s < sub; s++) {
                    v += z[s] * mix[s * d + j];
                }
                out[row * d + j] = v;
            }
        }
        return out;
    }

    private static void writeAdapter(Path dir, SplittableRandom rng) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (int k = 0; k < LAYERS.size(); k++) {
            int in = DIMS[k];
            int out = DIMS[k + 1];
            String key = PeftAdapter.KEY_PREFIX + LAYERS.get(k);
            w.add(key + ".lora_A.weight", DType.F32, new long[]{RANK, in}, gaussian(rng, RANK * in, 1.0 / Math.sqrt(in)));
            w.add(key + ".lora_B.weight", DType.F32, new long[]{out, RANK}, gaussian(rng, out * RANK, 0.35 / Math.sqrt(RANK)));
        }
        w.write(dir.resolve(PeftAdapter.WEIGHTS_FILE));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = json.createObjectNode();
        c.put("peft_type", "LORA").put("r", RANK).put("lora_alpha", 2 * RANK).put("use_rslora", false)
                .put("fan_in_fan_out", false).put("base_model_name_or_path", "iteris/demo-tanh-mlp")
                .put("lora_dropout", 0.0).put("bias", "none").put("inference_mode", true);
        c.putArray("target_modules").add("proj");
        write(dir.resolve(LoraConfig.FILE_NAME), json, c);
    }

    private static void writeModelJson(Path file) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        ObjectNode model = root.putObject("model");
        var layers = model.putArray("layers");
        LAYERS.forEach(layers::add);
        var dims = model.putArray("dims");
        for (int d : DIMS) {
            dims.add(d);
        }
        model.put("forward", "tanh after every layer but the last, applied to every token");
        model.putNull("feedback");
        write(file, json, root);
    }

    private static void write(Path file, ObjectMapper json, ObjectNode node) {
        try {
            AtomicFiles.writeString(file, json.writeValueAsString(node) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static double[] gaussian(SplittableRandom rng, int n, double std) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = std * rng.nextGaussian();
        }
        return v;
    }
}
