package io.iteris.bench.train;

import io.iteris.bench.data.TextTasks;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.peft.PeftAdapterWriter;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsException;
import io.iteris.core.safetensors.SafetensorsWriter;
import io.iteris.core.safetensors.TensorSource;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The text benchmark's adapters: one rank-8 LoRA on MiniLM's query and value projections per task, under the
 * task's fixed head. {@link #train} writes the example directory as the repository ships it: {@code data.safetensors}
 * (tokenised calibration, validation and test splits), {@code calibration.safetensors} (what
 * {@code iteris merge} reads), {@code adapters/<task>/} (PEFT) and {@code heads.safetensors}.
 */
public final class TextLoras {
    public static final int HEADS = 12;
    public static final int RANK = 8;
    public static final double ALPHA = 16;
    public static final String BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2";

    /**
     * Steps and batch per task (short texts afford bigger batches). Heads stay fixed at random projections of
     * row norm {@value #HEAD_GAIN}: trained heads made the frozen base with them nearly as good as the LoRAs
     * (0.955 of their accuracy), so no merge could lose much and the benchmark told the methods apart by noise.
     */
    public static final double HEAD_GAIN = 4;
    public static final Map<String, TextLoraTrainer.Schedule> SCHEDULES = Map.of(
            "spam", new TextLoraTrainer.Schedule(140, 16, 5e-3, RANK, ALPHA, 51, HEAD_GAIN),
            "topic", new TextLoraTrainer.Schedule(180, 16, 5e-3, RANK, ALPHA, 52, HEAD_GAIN),
            "names", new TextLoraTrainer.Schedule(240, 32, 5e-3, RANK, ALPHA, 53, HEAD_GAIN),
            "language", new TextLoraTrainer.Schedule(200, 16, 5e-3, RANK, ALPHA, 54, HEAD_GAIN),
            "sotu", new TextLoraTrainer.Schedule(200, 16, 5e-3, RANK, ALPHA, 55, HEAD_GAIN),
            "valence", new TextLoraTrainer.Schedule(200, 32, 5e-3, RANK, ALPHA, 56, HEAD_GAIN),
            "themes", new TextLoraTrainer.Schedule(300, 16, 5e-3, RANK, ALPHA, 57, HEAD_GAIN),
            "syllables", new TextLoraTrainer.Schedule(240, 32, 5e-3, RANK, ALPHA, 58, HEAD_GAIN));

    private TextLoras() {
    }

    /**
     * @param only the tasks to train (empty: all); the others keep their adapters and heads in {@code out}, which the
     *             seeded splits leave valid (each task's split depends on its own seed and sources only)
     */
    public static void train(TextTasks data, TensorSource base, Path out, double stepScale, java.util.Set<String> only,
                             Consumer<String> log) {
        Map<String, INDArray[]> kept = only.isEmpty() ? Map.of() : heads(out.resolve("heads.safetensors"), false);
        data.write(out.resolve("data.safetensors"));
        writeCalibration(data, out.resolve("calibration.safetensors"));
        SafetensorsWriter heads = new SafetensorsWriter();
        for (TextTasks.Task task : TextTasks.TASKS) {
            if (!only.isEmpty() && !only.contains(task.name())) {
                INDArray[] h = kept.get(task.name());
                if (h == null) {
                    throw new IllegalArgumentException(out.resolve("heads.safetensors") + ": no head of task " + task.name()
                            + " to keep; train every task");
                }
                heads.add(task.name() + ".weight", DType.F32, h[0].shape(), Matrices.toArray(h[0]));
                heads.add(task.name() + ".bias", DType.F32, new long[]{h[1].length()}, Matrices.toArray(h[1]));
                continue;
            }
            TextTasks.TextSet train = data.split(task, TextTasks.Split.TRAIN);
            TextLoraTrainer.Schedule s = SCHEDULES.get(task.name());
            s = new TextLoraTrainer.Schedule(Math.max(1, (int) Math.round(s.steps() * stepScale)), s.batch(), s.learningRate(),
                    s.rank(), s.alpha(), s.seed(), s.headGain());
            long t0 = System.nanoTime();
            int steps = s.steps();
            TextLoraTrainer.Trained t = TextLoraTrainer.train(base, HEADS, task, train, s, k -> {
                if (k % 20 == 0 || k == steps) {
                    log.accept(String.format("  %s: step %d/%d", task.name(), k, steps));
                }
            });
            PeftAdapterWriter.write(out.resolve("adapters").resolve(task.name()), t.lora(), RANK, ALPHA,
                    TextLoraTrainer.TARGETS, BASE_NAME);
            heads.add(task.name() + ".weight", DType.F32, t.head()[0].shape(), Matrices.toArray(t.head()[0]));
            heads.add(task.name() + ".bias", DType.F32, new long[]{t.head()[1].length()}, Matrices.toArray(t.head()[1]));
            log.accept(String.format("LoRA %s: %d steps of %d on %d examples (%d tokens) in %.1f s, last loss %.3f", task.name(),
                    s.steps(), s.batch(), train.size(), train.tokens(), (System.nanoTime() - t0) / 1e9, t.lastLoss()));
        }
        heads.write(out.resolve("heads.safetensors"));
    }

    /** Task → its head [W (classes×hidden), b (classes)]. */
    public static Map<String, INDArray[]> heads(Path file) {
        return heads(file, true);
    }

    private static Map<String, INDArray[]> heads(Path file, boolean every) {
        TensorSource src = TensorSource.open(file);
        Map<String, INDArray[]> out = new LinkedHashMap<>();
        for (TextTasks.Task task : TextTasks.TASKS) {
            String w = task.name() + ".weight";
            if (!every && !src.contains(w)) {
                continue;
            }
            if (!src.contains(w)) {
                throw new SafetensorsException(file, w, "missing: every text task needs its head");
            }
            long[] shape = src.info(w).shape();
            out.put(task.name(), new INDArray[]{Matrices.of(src.readDoubles(w), shape[0], shape[1]),
                    Matrices.of(src.readDoubles(task.name() + ".bias"), 1, shape[0]).reshape(-1)});
        }
        return out;
    }

    /** Calibration texts per task in {@code calibration.safetensors}, what {@code iteris merge} reads (the pool holds more). */
    public static final int MERGE_CALIBRATION = 64;

    public static void writeCalibration(TextTasks data, Path file) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("tokenizer", BASE_NAME + " WordPiece; -1 marks padding");
        for (TextTasks.Task task : TextTasks.TASKS) {
            TextTasks.TextSet s = data.split(task, TextTasks.Split.CALIBRATION).slice(0, MERGE_CALIBRATION);
            w.add(task.name() + ".input_ids", DType.I32, new long[]{s.size(), s.tokens()}, TextTasks.flat(s.ids()));
        }
        w.write(file);
    }

    /** The text tasks' names, in task order (the adapters' directory names). */
    public static List<String> taskNames() {
        return TextTasks.TASKS.stream().map(TextTasks.Task::name).toList();
    }
}
