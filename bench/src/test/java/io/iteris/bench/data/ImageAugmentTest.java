package io.iteris.bench.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** Shifted copies move the picture and nothing else; the task's transform applies after the shift. */
class ImageAugmentTest {
    /** One 4×4 image with a single lit pixel at (row 1, col 2). */
    private static ImageSet dot() {
        byte[] px = new byte[16];
        px[1 * 4 + 2] = (byte) 200;
        return new ImageSet(px, new int[]{3}, 4, 4);
    }

    @Test
    void everyCopyIsTheImageMovedByAtMostTheShiftAndNeverLeftInPlace() {
        ImageSet copies = dot().shiftedCopies(50, 1, 7);
        assertEquals(50, copies.size());
        for (int c = 0; c < copies.size(); c++) {
            int lit = -1;
            int count = 0;
            for (int p = 0; p < 16; p++) {
                if (copies.pixels()[c * 16 + p] != 0) {
                    lit = p;
                    count++;
                }
            }
            assertEquals(3, copies.labels()[c]);
            if (count == 1) {
                int dr = lit / 4 - 1;
                int dc = lit % 4 - 2;
                assertEquals(200, copies.pixels()[c * 16 + lit] & 0xff);
                assertNotEquals(0, Math.abs(dr) + Math.abs(dc), "copy " + c + " is shifted");
                assertEquals(true, Math.abs(dr) <= 1 && Math.abs(dc) <= 1, "copy " + c + " moved by at most one pixel");
            } else {
                assertEquals(0, count, "the dot left the 4×4 frame or stayed whole");
            }
        }
    }

    @Test
    void aPermutedTasksCopiesAreShiftedBeforeThePermutationAsItsImagesWereMade() {
        ImageTasks tasks = ImageTasks.load(java.nio.file.Path.of("..", "examples", "fashion", "data"));
        ImageTasks.Task permuted = ImageTasks.LORA_TASKS.get(2);
        assertEquals(ImageTransform.PERMUTE, permuted.transform());
        ImageSet augmented = tasks.augmentedCalibration(permuted, 4, 3, 2, 2, 11);
        assertEquals(9, augmented.size(), "three images and two copies of each");
        assertArrayEquals(tasks.split(permuted, ImageTasks.Split.CALIBRATION).slice(4, 7).pixels(), augmented.slice(0, 3).pixels());
        ImageSet source = tasks.split(ImageTasks.UPRIGHT, ImageTasks.Split.CALIBRATION).slice(4, 7);
        assertArrayEquals(ImageTransform.PERMUTE.apply(source.shiftedCopies(2, 2, 11)).pixels(), augmented.slice(3, 9).pixels());
    }
}
