package io.iteris.bench.data;

import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * Grey-scale images with labels, as stored in IDX files: one unsigned byte per pixel, row-major per image.
 */
public record ImageSet(byte[] pixels, int[] labels, int rows, int cols) {
    public ImageSet {
        if (pixels.length != labels.length * rows * cols) {
            throw new IllegalArgumentException(labels.length + " labels but " + pixels.length + " pixels for "
                    + rows + "x" + cols + " images");
        }
    }

    public int size() {
        return labels.length;
    }

    public int pixelsPerImage() {
        return rows * cols;
    }

    public ImageSet slice(int from, int to) {
        int p = pixelsPerImage();
        return new ImageSet(Arrays.copyOfRange(pixels, from * p, to * p), Arrays.copyOfRange(labels, from, to), rows, cols);
    }

    /** The images in the given order. */
    public ImageSet select(int[] order) {
        int p = pixelsPerImage();
        byte[] px = new byte[order.length * p];
        int[] lb = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            System.arraycopy(pixels, order[i] * p, px, i * p, p);
            lb[i] = labels[order[i]];
        }
        return new ImageSet(px, lb, rows, cols);
    }

    /**
     * {@code copies} shifted copies of every image, copy by copy: each moves the image by (dx, dy), drawn uniformly
     * from [−maxShift, maxShift]² without (0, 0), uncovered pixels black. Labels are kept (the calibration never
     * reads them).
     */
    public ImageSet shiftedCopies(int copies, int maxShift, long seed) {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
        int p = pixelsPerImage();
        byte[] px = new byte[size() * copies * p];
        int[] lb = new int[size() * copies];
        for (int c = 0; c < copies; c++) {
            for (int i = 0; i < size(); i++) {
                int dx;
                int dy;
                do {
                    dx = rng.nextInt(-maxShift, maxShift + 1);
                    dy = rng.nextInt(-maxShift, maxShift + 1);
                } while (dx == 0 && dy == 0);
                int out = (c * size() + i) * p;
                for (int r = 0; r < rows; r++) {
                    int sr = r - dy;
                    for (int col = 0; col < cols; col++) {
                        int sc = col - dx;
                        if (sr >= 0 && sr < rows && sc >= 0 && sc < cols) {
                            px[out + r * cols + col] = pixels[i * p + sr * cols + sc];
                        }
                    }
                }
                lb[c * size() + i] = labels[i];
            }
        }
        return new ImageSet(px, lb, rows, cols);
    }

    /** This set followed by another of the same image size. */
    public ImageSet concat(ImageSet other) {
        byte[] px = Arrays.copyOf(pixels, pixels.length + other.pixels.length);
        System.arraycopy(other.pixels, 0, px, pixels.length, other.pixels.length);
        int[] lb = Arrays.copyOf(labels, labels.length + other.labels.length);
        System.arraycopy(other.labels, 0, lb, labels.length, other.labels.length);
        return new ImageSet(px, lb, rows, cols);
    }

    /** Pixels scaled to [0, 1], [n, rows·cols] float64. */
    public INDArray features() {
        double[] v = new double[pixels.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = (pixels[i] & 0xff) / 255.0;
        }
        return Matrices.of(v, size(), pixelsPerImage());
    }
}
