package io.iteris.core;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes that are all-or-nothing and durable: content goes to a temporary name beside the target, is
 * flushed to the disk (fsync), and is renamed into place only when complete; the directory holding the new
 * name is flushed too, so after a crash a name is either absent or names complete content. A failure
 * deletes the temporary.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    public static void write(Path target, Content content) {
        Path abs = target.toAbsolutePath();
        Path tmp = null;
        try {
            Files.createDirectories(abs.getParent());
            tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                 OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 20)) {
                content.writeTo(out);
                out.flush();
                ch.force(true);
            }
            readableByAll(tmp, "rw-r--r--");
            move(tmp, abs);
            tmp = null;
            fsync(abs.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    public static void writeString(Path target, String text) {
        write(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** A fresh temporary directory beside {@code target}, to be filled and then {@link #publishDirectory published}. */
    public static Path stagingDirectory(Path target) {
        Path abs = target.toAbsolutePath();
        try {
            Files.createDirectories(abs.getParent());
            Path dir = Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".");
            readableByAll(dir, "rwxr-xr-x");
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a staging directory beside " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Renames a complete staging directory to {@code target}. An existing target is replaced only when
     * {@code overwrite}; it is moved aside first and deleted after the rename, so a reader never sees a mix.
     */
    public static void publishDirectory(Path staging, Path target, boolean overwrite) {
        Path abs = target.toAbsolutePath();
        try {
            // every file in it was flushed as it was written; the directory's own entries now
            fsync(staging);
            if (Files.exists(abs)) {
                if (!overwrite) {
                    throw new IllegalArgumentException(target + " already exists; choose another output or pass --overwrite");
                }
                Path aside = Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".old.");
                Files.delete(aside);
                move(abs, aside);
                move(staging, abs);
                fsync(abs.getParent());
                deleteRecursively(aside);
            } else {
                move(staging, abs);
                fsync(abs.getParent());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot publish " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Flushes a file, or a directory's entries, to the disk. A directory that cannot be opened for this (some
     * file systems, other platforms) is left to the file system's own ordering.
     */
    public static void fsync(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            if (!Files.isDirectory(p)) {
                throw new UncheckedIOException("cannot flush " + p + " to the disk: " + e.getMessage(), e);
            }
        }
    }

    /** Temporary files are created private (0600); what we publish gets the usual permissions. */
    private static void readableByAll(Path p, String perms) throws IOException {
        if (p.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            deleteRecursively(p);
        } catch (IOException ignored) {
            // best effort: the temporary name keeps it from being mistaken for output
        }
    }

    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
