package io.iteris.bench.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import io.iteris.core.AtomicFiles;

/** The IDX format of (Fashion-)MNIST: big-endian magic and dimensions, then unsigned bytes; gzip optional. */
public final class Idx {
    private static final int IMAGES = 0x00000803;
    private static final int LABELS = 0x00000801;

    private Idx() {
    }

    public static ImageSet read(Path images, Path labels) {
        try (DataInputStream im = open(images); DataInputStream lb = open(labels)) {
            int magic = im.readInt();
            if (magic != IMAGES) {
                throw new IllegalArgumentException(images + ": not an IDX image file (magic 0x" + Integer.toHexString(magic) + ")");
            }
            int n = im.readInt();
            int rows = im.readInt();
            int cols = im.readInt();
            int lmagic = lb.readInt();
            if (lmagic != LABELS) {
                throw new IllegalArgumentException(labels + ": not an IDX label file (magic 0x" + Integer.toHexString(lmagic) + ")");
            }
            int ln = lb.readInt();
            if (ln != n) {
                throw new IllegalArgumentException(labels + " holds " + ln + " labels but " + images + " holds " + n + " images");
            }
            byte[] px = new byte[Math.multiplyExact(n, rows * cols)];
            im.readFully(px);
            byte[] l = new byte[n];
            lb.readFully(l);
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                out[i] = l[i] & 0xff;
            }
            return new ImageSet(px, out, rows, cols);
        } catch (EOFException e) {
            throw new IllegalArgumentException(images + " or " + labels + ": truncated IDX file", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + images + ": " + e.getMessage(), e);
        }
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
        return new DataInputStream(p.toString().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in);
    }

    /** Writes both files gzipped, each atomically. */
    public static void write(ImageSet set, Path images, Path labels) {
        AtomicFiles.write(images, out -> {
            try (DataOutputStream d = new DataOutputStream(new GZIPOutputStream(out))) {
                d.writeInt(IMAGES);
                d.writeInt(set.size());
                d.writeInt(set.rows());
                d.writeInt(set.cols());
                d.write(set.pixels());
            }
        });
        AtomicFiles.write(labels, out -> {
            try (DataOutputStream d = new DataOutputStream(new GZIPOutputStream(out))) {
                d.writeInt(LABELS);
                d.writeInt(set.size());
                for (int l : set.labels()) {
                    d.writeByte(l);
                }
            }
        });
    }
}
