package io.iteris.core.data;

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

    /** Pixels scaled to [0, 1], [n, rows·cols] float64. */
    public INDArray features() {
        double[] v = new double[pixels.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = (pixels[i] & 0xff) / 255.0;
        }
        return Matrices.of(v, size(), pixelsPerImage());
    }
}
