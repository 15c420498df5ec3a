package io.iteris.bench.data;

import io.iteris.core.engine.MergeInputs;
import io.iteris.core.engine.NamedAdapter;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.MlpSpec;
import io.iteris.core.model.TanhMlpRunner;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.bench.train.Accuracy;
import io.iteris.bench.train.FashionLoras;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark's shipped data and models, as a fresh clone has them. */
class ShippedDataTest {
    static final Path EXAMPLE = Path.of("..", "examples", "fashion").toAbsolutePath().normalize();
    static ImageTasks data;

    @BeforeAll
    static void load() {
        data = ImageTasks.load(EXAMPLE.resolve("data"));
    }

    static String sha256(ImageSet s) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(s.pixels());
        for (int l : s.labels()) {
            md.update((byte) l);
        }
        return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }

    @Test
    void filesHoldTheDocumentedImagesAndLabels() throws Exception {
        ImageSet train = Idx.read(EXAMPLE.resolve("data/fashion-train-images-idx3-ubyte.gz"), EXAMPLE.resolve("data/fashion-train-labels-idx1-ubyte.gz"));
        ImageSet test = Idx.read(EXAMPLE.resolve("data/fashion-test-images-idx3-ubyte.gz"), EXAMPLE.resolve("data/fashion-test-labels-idx1-ubyte.gz"));
        ImageSet mnist = Idx.read(EXAMPLE.resolve("data/mnist-images-idx3-ubyte.gz"), EXAMPLE.resolve("data/mnist-labels-idx1-ubyte.gz"));
        assertEquals(12_000, train.size());
        assertEquals(10_000, test.size());
        assertEquals(10_000, mnist.size());
        for (ImageSet s : List.of(train, test, mnist)) {
            assertEquals(28, s.rows());
            assertEquals(28, s.cols());
            int[] counts = new int[10];
            for (int l : s.labels()) {
                assertTrue(l >= 0 && l < 10, "label " + l);
                counts[l]++;
            }
            for (int c : counts) {
                assertTrue(c > s.size() / 15, "every class is present in numbers");
            }
        }
        int[] testCounts = new int[10];
        for (int l : test.labels()) {
            testCounts[l]++;
        }
        assertArrayEquals(new int[]{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}, testCounts);
        assertEquals("37862e60f537e521", sha256(train));
        assertEquals("9f1ec356a747bfe4", sha256(test));
        assertEquals("e16e03c96e332843", sha256(mnist));
    }

    @Test
    void splitsAreDisjointAndSized() {
        ImageTasks.Task digits = ImageTasks.LORA_TASKS.get(4);
        assertEquals(6000, data.split(digits, ImageTasks.Split.TRAIN).size());
        assertEquals(1000, data.split(digits, ImageTasks.Split.CALIBRATION).size());
        assertEquals(1000, data.split(digits, ImageTasks.Split.VALIDATION).size());
        assertEquals(2000, data.split(digits, ImageTasks.Split.TEST).size());
        assertEquals(8000, data.split(ImageTasks.UPRIGHT, ImageTasks.Split.TEST).size());
    }

    @Test
    void transformsAreTheirOwnKindOfIdentity() {
        ImageSet s = data.split(ImageTasks.UPRIGHT, ImageTasks.Split.VALIDATION).slice(0, 20);
        ImageSet r4 = ImageTransform.ROTATE_90.apply(ImageTransform.ROTATE_90.apply(ImageTransform.ROTATE_90.apply(ImageTransform.ROTATE_90.apply(s))));
        assertArrayEquals(s.pixels(), r4.pixels(), "four quarter turns");
        assertArrayEquals(ImageTransform.ROTATE_180.apply(s).pixels(), ImageTransform.ROTATE_90.apply(ImageTransform.ROTATE_90.apply(s)).pixels());
        assertArrayEquals(s.pixels(), ImageTransform.INVERT.apply(ImageTransform.INVERT.apply(s)).pixels());
        int[] perm = ImageTransform.permutation(784);
        assertEquals(784, java.util.Arrays.stream(perm).distinct().count(), "a permutation");
    }

    @Test
    void truncatedIdxIsAnError() throws Exception {
        Path dir = java.nio.file.Files.createTempDirectory("idx");
        java.nio.file.Files.write(dir.resolve("i"), new byte[]{0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2});
        java.nio.file.Files.write(dir.resolve("l"), new byte[]{0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3, 4, 5});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Idx.read(dir.resolve("i"), dir.resolve("l")));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void eachShippedLoraBeatsTheBaseOnItsOwnTaskByAWideMargin() {
        BaseModel base = BaseModel.open(EXAMPLE.resolve("base"));
        TanhMlpRunner runner = new TanhMlpRunner(MlpSpec.read(EXAMPLE.resolve("base/model.json")), base, DataType.DOUBLE);
        for (ImageTasks.Task t : ImageTasks.LORA_TASKS) {
            PeftAdapter a = PeftAdapter.load(EXAMPLE.resolve("adapters").resolve(t.name()));
            assertEquals(FashionLoras.RANK, a.config().r());
            MergeInputs in = MergeInputs.prepare(base, List.of(new NamedAdapter(t.name(), a, 1)));
            ImageSet val = data.split(t, ImageTasks.Split.VALIDATION);
            INDArray x = val.features();
            double withLora = Accuracy.of(runner, in.taskWeights(0), x, val.labels());
            double alone = Accuracy.of(runner, in.mergedWeights(FashionLoras.zeroDeltas(Map.of(
                    "layers.0.proj", in.w0("layers.0.proj"), "layers.1.proj", in.w0("layers.1.proj"), "layers.2.proj", in.w0("layers.2.proj")))),
                    x, val.labels());
            assertTrue(withLora > alone + 0.4, t.name() + ": LoRA " + withLora + " vs base " + alone);
        }
    }
}
