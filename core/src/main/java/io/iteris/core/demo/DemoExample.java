package io.iteris.core.demo;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.peft.PeftAdapterWriter;
import org.nd4j.linalg.api.ndarray.INDArray;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsWriter;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
        Map<String, LoraModule> factors = new LinkedHashMap<>();
        for (int k = 0; k < LAYERS.size(); k++) {
            int in = DIMS[k];
            int out = DIMS[k + 1];
            INDArray a = Matrices.of(gaussian(rng, RANK * in, 1.0 / Math.sqrt(in)), RANK, in);
            INDArray b = Matrices.of(gaussian(rng, out * RANK, 0.35 / Math.sqrt(RANK)), out, RANK);
            factors.put(LAYERS.get(k), new LoraModule(LAYERS.get(k), a, b, 2.0));
        }
        PeftAdapterWriter.write(dir, factors, RANK, 2 * RANK, List.of("proj"), "iteris/demo-tanh-mlp");
    }

    private static void writeModelJson(Path file) {
        new MlpSpec(LAYERS, DIMS, false).write(file, "tanh after every layer but the last, applied to every token");
    }

    private static double[] gaussian(SplittableRandom rng, int n, double std) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = std * rng.nextGaussian();
        }
        return v;
    }
}
