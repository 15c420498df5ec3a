package io.iteris.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/** Copies of test data that a test may change. */
public final class TestFiles {
    private TestFiles() {
    }

    public static Path copyTree(Path from, Path to) {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                    target.toFile().setWritable(true);
                }
            }
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Every tensor of a safetensors file, as float32, in a writer to which a test adds or from which it drops:
     * {@code change} sees each tensor's name and values and returns the values to keep (changed or not), or null
     * to drop the tensor.
     */
    public static io.iteris.core.safetensors.SafetensorsWriter tensorsOf(Path file,
                                                                          java.util.function.BiFunction<String, double[], double[]> change) {
        io.iteris.core.safetensors.SafetensorsFile f = io.iteris.core.safetensors.SafetensorsFile.open(file);
        io.iteris.core.safetensors.SafetensorsWriter w = new io.iteris.core.safetensors.SafetensorsWriter();
        for (String n : f.names()) {
            double[] v = change.apply(n, f.readDoubles(n));
            if (v != null) {
                w.add(n, io.iteris.core.safetensors.DType.F32, f.info(n).shape(), v);
            }
        }
        return w;
    }

    /** Lists a directory's entries (names), sorted. */
    public static java.util.List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
