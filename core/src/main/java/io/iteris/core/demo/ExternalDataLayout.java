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
import java.util.ArrayList;
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
     * @param constants scalars and integer tensors (shapes, axes) become {@code Constant} nodes, as torch.onnx writes
     *                  them, their tensors external by the same threshold ({@code convert_attribute=True})
     */
    public record Layout(String name, long threshold, boolean oneFile, String folder, int align, boolean constants) {
        /** Everything inside the .onnx file. */
        public static final Layout INSIDE = new Layout("inside", Long.MAX_VALUE, true, "", 1, false);
        /** The onnx package's default: one data file, tensors under 1 KiB kept in the graph; offsets page-aligned, as ONNX Runtime's own writer aligns large tensors for mapping. */
        public static final Layout ONE_FILE = new Layout("one-file", 1024, true, "", 4096, false);
        /** One file per tensor ({@code all_tensors_to_one_file=False}). */
        public static final Layout PER_TENSOR = new Layout("per-tensor", 1024, false, "", 1, false);
        /** Every initializer external, down to the scalars and the shapes ({@code size_threshold=0}), packed. */
        public static final Layout ALL_EXTERNAL = new Layout("all-external", 0, true, "", 1, false);
        /** As {@link #ALL_EXTERNAL}, with the data file in a sub-folder ({@code location} "weights/model.onnx_data"). */
        public static final Layout SUB_FOLDER = new Layout("sub-folder", 0, true, "weights", 1, false);
        /** Shapes and scalars as {@code Constant} nodes, and every tensor external, theirs too ({@code convert_attribute=True}). */
        public static final Layout CONSTANT_NODES = new Layout("constant-nodes", 0, true, "", 1, true);

        public static List<Layout> all() {
            return List.of(INSIDE, ONE_FILE, PER_TENSOR, ALL_EXTERNAL, SUB_FOLDER, CONSTANT_NODES);
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
            List<Onnx.NodeProto> constants = new ArrayList<>();
            try {
                for (Onnx.TensorProto t : source.proto().getGraph().getInitializerList()) {
                    ByteBuffer bytes = source.raw(t);
                    if (OnnxModelFile.external(t)) {
                        sourceData.add(source.externalFile(t));
                    }
                    Onnx.TensorProto.Builder b = t.toBuilder().clearExternalData().clearDataLocation().clearFloatData()
                            .clearInt32Data().clearInt64Data().clearDoubleData().clearUint64Data().clearRawData();
                    boolean constant = layout.constants() && (t.getDimsCount() == 0 || t.getDataType() == Onnx.TensorProto.DataType.INT64_VALUE);
                    if (bytes.remaining() < layout.threshold()) {
                        b.setRawData(ByteString.copyFrom(bytes));
                    } else {
                        b = external(b, bytes, layout, dir, files, ends);
                    }
                    if (constant) {
                        constants.add(constantNode(b.build()));
                    } else {
                        g.addInitializer(b);
                    }
                }
                // a Constant comes before the nodes that read it, as the graph's order must be topological
                List<Onnx.NodeProto> nodes = new ArrayList<>(constants);
                nodes.addAll(g.getNodeList());
                g.clearNode().addAllNode(nodes);
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

    /** Appends a tensor's bytes to its data file (opened on first use), aligned as the layout says, and points it there. */
    private static Onnx.TensorProto.Builder external(Onnx.TensorProto.Builder b, ByteBuffer bytes, Layout layout, Path dir,
                                                     Map<String, FileChannel> files, Map<String, Long> ends) throws IOException {
        String file = (layout.folder().isEmpty() ? "" : layout.folder() + "/")
                + (layout.oneFile() ? TinyLlama.DATA : b.getName().replaceAll("[^A-Za-z0-9._-]", "_"));
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
        return b.setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", file))
                .addExternalData(entry("offset", Long.toString(offset)))
                .addExternalData(entry("length", Long.toString(length)));
    }

    private static Onnx.NodeProto constantNode(Onnx.TensorProto t) {
        return Onnx.NodeProto.newBuilder().setOpType("Constant").setName("/Constant_" + t.getName()).addOutput(t.getName())
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("value").setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(t))
                .build();
    }

    private static Onnx.StringStringEntryProto entry(String key, String value) {
        return Onnx.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
