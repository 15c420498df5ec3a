package io.iteris.bench.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark's tasks and their splits, from the IDX files shipped in {@code bench/data}:
 * Fashion-MNIST upright (the base model's task) and four transforms of it, and MNIST digits.
 * Each task has four disjoint splits: train (LoRA training only), calibration (unlabelled, for merging),
 * validation (choosing hyper-parameters) and test (reported).
 */
public final class ImageTasks {
    public enum Split { TRAIN, CALIBRATION, VALIDATION, TEST }

    /** A task: its source data set and the transform applied to it. */
    public record Task(String name, String source, ImageTransform transform, String description) {
    }

    public static final Task UPRIGHT = new Task("upright", "fashion", ImageTransform.IDENTITY, "Fashion-MNIST as is (the base model's task)");
    public static final List<Task> LORA_TASKS = List.of(
            new Task("rot90", "fashion", ImageTransform.ROTATE_90, "Fashion-MNIST rotated 90 degrees clockwise"),
            new Task("rot180", "fashion", ImageTransform.ROTATE_180, "Fashion-MNIST rotated 180 degrees"),
            new Task("permuted", "fashion", ImageTransform.PERMUTE, "Fashion-MNIST with a fixed pixel permutation"),
            new Task("inverted", "fashion", ImageTransform.INVERT, "Fashion-MNIST with inverted intensities"),
            new Task("digits", "mnist", ImageTransform.IDENTITY, "MNIST handwritten digits (another data set)"));

    private final Map<String, ImageSet> trainSets = new LinkedHashMap<>();
    private final Map<String, ImageSet> heldOutSets = new LinkedHashMap<>();

    private ImageTasks() {
    }

    /** Reads the shipped files of {@code dir}: fashion-train / fashion-test / mnist IDX pairs. */
    public static ImageTasks load(Path dir) {
        ImageTasks t = new ImageTasks();
        t.trainSets.put("fashion", Idx.read(file(dir, "fashion-train-images-idx3-ubyte.gz"), file(dir, "fashion-train-labels-idx1-ubyte.gz")));
        t.heldOutSets.put("fashion", Idx.read(file(dir, "fashion-test-images-idx3-ubyte.gz"), file(dir, "fashion-test-labels-idx1-ubyte.gz")));
        ImageSet mnist = Idx.read(file(dir, "mnist-images-idx3-ubyte.gz"), file(dir, "mnist-labels-idx1-ubyte.gz"));
        t.trainSets.put("mnist", mnist.slice(0, 6000));
        t.heldOutSets.put("mnist", mnist.slice(6000, mnist.size()));
        return t;
    }

    /**
     * The first {@code samples} images of every LoRA task's calibration split as a merge's calibration file:
     * {@code <task>.input} [samples, 1, pixels] (one token per image).
     */
    public Path writeCalibration(Path file, int samples) {
        io.iteris.core.safetensors.SafetensorsWriter w = new io.iteris.core.safetensors.SafetensorsWriter()
                .metadata("layout", "[samples, tokens, pixels]");
        for (Task t : LORA_TASKS) {
            ImageSet s = split(t, Split.CALIBRATION).slice(0, samples);
            org.nd4j.linalg.api.ndarray.INDArray x = s.features();
            w.add(t.name() + ".input", io.iteris.core.safetensors.DType.F32, new long[]{samples, 1, x.size(1)}, x.data().asDouble());
        }
        w.write(file);
        return file;
    }

    private static Path file(Path dir, String name) {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException(p + ": missing benchmark data file (see bench/data/README.md)");
        }
        return p;
    }

    /**
     * Calibration images [from, from + count) of a task followed by {@code copies} shifted copies of each: a
     * label-free augmentation that gives a merge's statistics more rows than it has samples. The shift moves the
     * untransformed image, and the task's transform applies after, as it made the task's own images (a shift
     * applied to a permuted image would be noise, not an image).
     */
    public ImageSet augmentedCalibration(Task task, int from, int count, int copies, int maxShift, long seed) {
        ImageSet source = heldOutSets.get(task.source()).slice(from, from + count);
        return task.transform().apply(source.concat(source.shiftedCopies(copies, maxShift, seed)));
    }

    /**
     * A split of a task. Held-out data is cut the same way for every source: the first 1,000 are the
     * calibration pool, the next 1,000 validation, the rest test.
     */
    public ImageSet split(Task task, Split split) {
        ImageSet s = switch (split) {
            case TRAIN -> trainSets.get(task.source());
            case CALIBRATION -> heldOutSets.get(task.source()).slice(0, 1000);
            case VALIDATION -> heldOutSets.get(task.source()).slice(1000, 2000);
            case TEST -> {
                ImageSet h = heldOutSets.get(task.source());
                yield h.slice(2000, h.size());
            }
        };
        return task.transform().apply(s);
    }
}
