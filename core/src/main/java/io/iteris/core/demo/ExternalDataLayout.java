package io.iteris.core.demo;

import io.iteris.core.AtomicFiles;
import io.iteris.core.model.onnx.OnnxModelFile;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes one ONNX model again with its initializers laid out as the exporters users bring write them, the way the
 * {@code onnx} package's {@code save_model(..., save_as_external_data=True)} does: every tensor of at least
 * {@code threshold} bytes goes to external data (torch writes every tensor as raw data, so with threshold 0 even
 * a Reshape's shape or an Unsqueeze's axes do), into one file or one file per tensor, in a folder of its own or
 * beside the model, each tensor at an offset aligned to {@code align} bytes. For the tests that every layout
 * ONNX Runtime loads from a path also merges.
 */
public final class ExternalDataLayout {
    /**
     * @param threshold tensors of at least this many bytes go to external data ({@code Long.MAX_VALUE}: none)
     * @param oneFile   all into {@code folder/model.onnx_data}, or each into a file named after the tensor
     * @param folder    the data files' folder, relative to the model's ("" beside it)
     * @param align     each tensor's offset in its file is a multiple of this (1: packed)
     */
    public record Layout(String name, long threshold, boolean oneFile, String folder, int align) {
        /** Everything inside the .onnx file. */
        public static final Layout INSIDE = new Layout("inside", Long.MAX_VALUE, true, "", 1);
        /** The onnx package's default: one data file, tensors under 1 KiB kept in the graph (page-aligned, as recent writers do). */
        public static final Layout ONE_FILE = new Layout("one-file", 1024, true, "", 4096);
        /** One file per tensor ({@code all_tensors_to_one_file=False}). */
        public static final Layout PER_TENSOR = new Layout("per-tensor", 1024, false, "", 1);
        /** Every initializer external, down to the scalars and the shapes ({@code size_threshold=0}), packed. */
        public static final Layout ALL_EXTERNAL = new Layout("all-external", 0, true, "", 1);
        /** As {@link #ALL_EXTERNAL}, with the data file in a sub-folder ({@code location} "weights/model.onnx_data"). */
        public static final Layout SUB_FOLDER = new Layout("sub-folder", 0, true, "weights", 1);

        public static List<Layout> all() {
            return List.of(INSIDE, ONE_FILE, PER_TENSOR, ALL_EXTERNAL, SUB_FOLDER);
        }
    }

    private ExternalDataLayout() {
    }

    /**
     * Writes {@code source} to {@code dir/<its file name>} in {@code layout}, with its data files, and copies the
     * files beside it that are not its data (such as tokenizer.json). Returns the new model's path.
     */
    public static Path write(OnnxModelFile source, Path dir, Layout layout) {
        try {
            Files.createDirectories(dir.resolve(layout.folder().isEmpty() ? "." : layout.folder()));
            Set<Path> sourceData = new HashSet<>();
            Map<String, FileChannel> files = new HashMap<>();
            Map<String, Long> ends = new HashMap<>();
            Onnx.GraphProto.Builder g = source.proto().getGraph().toBuilder().clearInitializer();
            try {
                for (Onnx.TensorProto t : source.proto().getGraph().getInitializerList()) {
                    ByteBuffer bytes = source.raw(t);
                    if (OnnxModelFile.external(t)) {
                        sourceData.add(source.directory().resolve(location(t)).normalize());
                    }
                    Onnx.TensorProto.Builder b = t.toBuilder().clearExternalData().clearDataLocation().clearFloatData()
                            .clearInt32Data().clearInt64Data().clearDoubleData().clearUint64Data().clearRawData();
                    if (bytes.remaining() < layout.threshold()) {
                        g.addInitializer(b.setRawData(ByteString.copyFrom(bytes)));
                        continue;
                    }
                    String file = (layout.folder().isEmpty() ? "" : layout.folder() + "/")
                            + (layout.oneFile() ? TinyLlama.DATA : t.getName().replaceAll("[^A-Za-z0-9._-]", "_"));
                    FileChannel ch = files.get(file);
                    if (ch == null) {
                        ch = FileChannel.open(dir.resolve(file), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                        files.put(file, ch);
                    }
                    long end = ends.getOrDefault(file, 0L);
                    long offset = (end + layout.align() - 1) / layout.align() * layout.align();
                    long length = bytes.remaining();
                    while (bytes.hasRemaining()) {
                        ch.write(bytes, offset + length - bytes.remaining());
                    }
                    ends.put(file, offset + length);
                    g.addInitializer(b.setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", file))
                            .addExternalData(entry("offset", Long.toString(offset)))
                            .addExternalData(entry("length", Long.toString(length))));
                }
            } finally {
                for (FileChannel ch : files.values()) {
                    ch.close();
                }
            }
            Path model = dir.resolve(source.location().getFileName());
            Onnx.ModelProto proto = source.proto().toBuilder().setGraph(g).build();
            AtomicFiles.write(model, proto::writeTo);
            try (var beside = Files.list(source.directory())) {
                for (Path p : beside.toList()) {
                    if (Files.isRegularFile(p) && !p.equals(source.location().toAbsolutePath().normalize()) && !sourceData.contains(p)) {
                        Files.copy(p, dir.resolve(p.getFileName()));
                    }
                }
            }
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String location(Onnx.TensorProto t) {
        return t.getExternalDataList().stream().filter(kv -> kv.getKey().equals("location")).findFirst().orElseThrow().getValue();
    }

    private static Onnx.StringStringEntryProto entry(String key, String value) {
        return Onnx.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
