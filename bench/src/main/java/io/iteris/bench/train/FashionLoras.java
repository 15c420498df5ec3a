package io.iteris.bench.train;

import io.iteris.bench.data.ImageSet;
import io.iteris.bench.data.ImageTasks;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.peft.PeftAdapterWriter;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsWriter;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The benchmark's models: a 784-256-256-10 tanh MLP pretrained on upright Fashion-MNIST, and one rank-8 LoRA
 * per task on every linear layer with the base frozen. {@link #train} writes them as the repository ships them.
 */
public final class FashionLoras {
    public static final List<String> LAYERS = List.of("layers.0.proj", "layers.1.proj", "layers.2.proj");
    public static final int[] DIMS = {784, 256, 256, 10};
    public static final int RANK = 8;
    public static final double ALPHA = 16;
    public static final MlpTrainer.Schedule BASE_SCHEDULE = new MlpTrainer.Schedule(8, 128, 1e-3, 42);
    public static final MlpTrainer.Schedule LORA_SCHEDULE = new MlpTrainer.Schedule(6, 128, 2e-3, 43);

    private FashionLoras() {
    }

    /** Trains the base and every task LoRA on their train splits and writes base/ and adapters/ under {@code out}. */
    public static void train(ImageTasks data, Path out, Consumer<String> log) {
        ImageSet upright = data.split(ImageTasks.UPRIGHT, ImageTasks.Split.TRAIN);
        long t0 = System.nanoTime();
        MlpTrainer.Mlp base = MlpTrainer.trainBase(LAYERS, DIMS, upright.features(), upright.labels(), BASE_SCHEDULE);
        log.accept(String.format("base trained on %d upright images in %.1f s", upright.size(), (System.nanoTime() - t0) / 1e9));
        writeBase(base, out.resolve("base"));
        for (ImageTasks.Task task : ImageTasks.LORA_TASKS) {
            ImageSet train = data.split(task, ImageTasks.Split.TRAIN);
            long t1 = System.nanoTime();
            MlpTrainer.Schedule s = new MlpTrainer.Schedule(LORA_SCHEDULE.epochs(), LORA_SCHEDULE.batch(),
                    LORA_SCHEDULE.learningRate(), LORA_SCHEDULE.seed() + task.name().hashCode());
            Map<String, LoraModule> lora = MlpTrainer.trainLora(base, train.features(), train.labels(), RANK, ALPHA, s);
            PeftAdapterWriter.write(out.resolve("adapters").resolve(task.name()), lora, RANK, ALPHA, List.of("proj"),
                    "iteris/fashion-mlp-784-256-256-10");
            log.accept(String.format("LoRA %s trained on %d images in %.1f s", task.name(), train.size(), (System.nanoTime() - t1) / 1e9));
        }
    }

    private static void writeBase(MlpTrainer.Mlp base, Path dir) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt").metadata("architecture", "tanh-mlp");
        for (int k = 0; k < LAYERS.size(); k++) {
            INDArray wk = base.w().get(k);
            INDArray bk = base.b().get(k);
            w.add(LAYERS.get(k) + ".weight", DType.F32, wk.shape(), Matrices.toArray(wk));
            w.add(LAYERS.get(k) + ".bias", DType.F32, new long[]{bk.length()}, Matrices.toArray(bk));
        }
        w.write(dir.resolve("model.safetensors"));
        new MlpSpec(LAYERS, DIMS, false).write(dir.resolve("model.json"),
                "tanh after every layer but the last (logits); one token per image, pixels scaled to [0, 1]");
    }

    /** The full weights of the base with no LoRA (for evaluating the base alone). */
    public static Map<String, INDArray> zeroDeltas(Map<String, INDArray> w0) {
        Map<String, INDArray> z = new LinkedHashMap<>();
        w0.forEach((k, v) -> z.put(k, Matrices.zeros(v.size(0), v.size(1))));
        return z;
    }
}
