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
    /**
     * The size of a generated example: layer widths (dims[0] inputs, dims[k+1] outputs of layer k), task
     * names, LoRA rank, and samples per task. {@code bench scale} makes large ones the same way.
     */
    public record Shape(int[] dims, List<String> tasks, int rank, int calibrationSamples, int heldoutSamples, int tokens, int projections) {
        public Shape(int[] dims, List<String> tasks, int rank, int calibrationSamples, int heldoutSamples, int tokens) {
            this(dims, tasks, rank, calibrationSamples, heldoutSamples, tokens, 1);
        }

        /** The chain's layers. */
        public List<String> layers() {
            return java.util.stream.IntStream.range(0, dims.length - 1).mapToObj(k -> "layers." + k + ".proj").toList();
        }

        /** Chain layer k and the projections beside it, reading its input (like q, then k and v): k.proj, k.proj2, … */
        public List<String> projectionsOf(int k) {
            String chain = layers().get(k);
            return java.util.stream.IntStream.rangeClosed(1, projections).mapToObj(j -> j == 1 ? chain : chain + j).toList();
        }

        /** Projections beside each chain layer (projections − 1 of them per layer), each to the layer it runs beside. */
        public Map<String, String> parallel() {
            Map<String, String> out = new LinkedHashMap<>();
            for (int k = 0; k < dims.length - 1; k++) {
                List<String> group = projectionsOf(k);
                group.subList(1, group.size()).forEach(extra -> out.put(extra, group.get(0)));
            }
            return out;
        }

        /** {@code layers} square layers of {@code width}, {@code tasks} tasks named task0, task1, ... */
        public static Shape uniform(int layers, int width, int tasks, int rank, int samples, int tokens) {
            return uniform(layers, width, tasks, rank, samples, tokens, 1);
        }

        /** As above, with {@code projections} projections reading each layer's input. */
        public static Shape uniform(int layers, int width, int tasks, int rank, int samples, int tokens, int projections) {
            int[] dims = new int[layers + 1];
            java.util.Arrays.fill(dims, width);
            return new Shape(dims, java.util.stream.IntStream.range(0, tasks).mapToObj(i -> "task" + i).toList(), rank, samples, 0, tokens,
                    projections);
        }
    }

    public static final List<String> TASKS = List.of("shift", "swirl", "spread");
    public static final int[] DIMS = {24, 48, 48, 12};
    public static final List<String> LAYERS = List.of("layers.0.proj", "layers.1.proj", "layers.2.proj");
    public static final int RANK = 4;
    public static final int CALIBRATION_SAMPLES = 16;
    public static final int HELDOUT_SAMPLES = 64;
    public static final int TOKENS = 4;

    private DemoExample() {
    }

    public static final Shape DEMO = new Shape(DIMS, TASKS, RANK, CALIBRATION_SAMPLES, HELDOUT_SAMPLES, TOKENS);

    public static void generate(Path dir, long seed) {
        generate(dir, DEMO, seed);
    }

    public static void generate(Path dir, Shape shape, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] dims = shape.dims();
        List<String> layers = shape.layers();
        SafetensorsWriter base = new SafetensorsWriter().metadata("format", "pt").metadata("architecture", "tanh-mlp");
        for (int k = 0; k < layers.size(); k++) {
            int in = dims[k];
            int out = dims[k + 1];
            base.add(layers.get(k) + ".weight", DType.F32, new long[]{out, in}, gaussian(rng, out * in, 1.0 / Math.sqrt(in)));
            base.add(layers.get(k) + ".bias", DType.F32, new long[]{out}, gaussian(rng, out, 0.05));
            for (String extra : shape.projectionsOf(k).subList(1, shape.projections())) {
                base.add(extra + ".weight", DType.F32, new long[]{out, in}, gaussian(rng, out * in, 1.0 / Math.sqrt(in)));
            }
        }
        base.write(dir.resolve("base/model.safetensors"));
        new MlpSpec(layers, dims, false, shape.parallel()).write(dir.resolve("base/model.json"), "tanh after every layer but the last, applied to every token");
        SafetensorsWriter calibration = new SafetensorsWriter().metadata("layout", "[samples, tokens, features]");
        SafetensorsWriter heldout = new SafetensorsWriter().metadata("layout", "[samples, tokens, features]");
        for (String task : shape.tasks()) {
            writeAdapter(dir.resolve("adapters/" + task), rng, shape);
            double[] mean = gaussian(rng, dims[0], 0.8);
            int sub = 6;
            double[] mix = gaussian(rng, sub * dims[0], 1.0 / Math.sqrt(sub));
            calibration.add(task + ".input", DType.F32, new long[]{shape.calibrationSamples(), shape.tokens(), dims[0]},
                    samples(rng, shape.calibrationSamples() * shape.tokens(), mean, mix, sub));
            if (shape.heldoutSamples() > 0) {
                heldout.add(task + ".input", DType.F32, new long[]{shape.heldoutSamples(), shape.tokens(), dims[0]},
                        samples(rng, shape.heldoutSamples() * shape.tokens(), mean, mix, sub));
            }
        }
        calibration.write(dir.resolve("calibration.safetensors"));
        if (shape.heldoutSamples() > 0) {
            heldout.write(dir.resolve("heldout.safetensors"));
        }
    }

    /** x = mean + z·mix + small isotropic noise, z ~ N(0, I_sub): each task lives near its own subspace. */
    private static double[] samples(SplittableRandom rng, int rows, double[] mean, double[] mix, int sub) {
        int d = mean.length;
        double[] out = new double[rows * d];
        for (int row = 0; row < rows; row++) {
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

    private static void writeAdapter(Path dir, SplittableRandom rng, Shape shape) {
        Map<String, LoraModule> factors = new LinkedHashMap<>();
        int rank = shape.rank();
        // PEFT target names: the projections' last name segment (proj, proj2, ...)
        List<String> targets = shape.projectionsOf(0).stream().map(n -> n.substring(n.lastIndexOf('.') + 1)).toList();
        for (int k = 0; k < shape.layers().size(); k++) {
            int in = shape.dims()[k];
            int out = shape.dims()[k + 1];
            for (String name : shape.projectionsOf(k)) {
                INDArray a = Matrices.of(gaussian(rng, rank * in, 1.0 / Math.sqrt(in)), rank, in);
                INDArray b = Matrices.of(gaussian(rng, out * rank, 0.35 / Math.sqrt(rank)), out, rank);
                factors.put(name, new LoraModule(name, a, b, 2.0));
            }
        }
        PeftAdapterWriter.write(dir, factors, rank, 2 * rank, targets, "iteris/demo-tanh-mlp");
    }

    /** {@code n} draws of N(0, std²). */
    static double[] gaussian(SplittableRandom rng, int n, double std) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = std * rng.nextGaussian();
        }
        return v;
    }
}
