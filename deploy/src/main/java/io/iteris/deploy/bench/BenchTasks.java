package io.iteris.deploy.bench;

import io.iteris.core.engine.MergeEngine;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.merge.MergeMethod;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * A set of real tasks the quality benchmark merges: their LoRAs, calibration samples and labelled splits,
 * and how accuracy is measured on them. {@link ImageSuite}: five Fashion-MNIST/MNIST tasks on an MLP;
 * {@link TextSuite}: three text classification tasks on all-MiniLM-L6-v2.
 */
interface BenchTasks {
    /** Splits the benchmark measures on: hyper-parameters are chosen on validation, reported on test. */
    enum Split { VALIDATION, TEST }

    List<String> taskNames();

    /** Inputs for merging the tasks whose indices are set in {@code mask}. */
    MergeInputs inputs(int mask);

    /** Merges the masked tasks with {@code samples} calibration samples each; the listener sees every solve. */
    Map<String, INDArray> merge(MergeMethod method, int mask, int samples, MergeEngine.Listener listener);

    /** Accuracy of W0 + deltas on a task's split. */
    double accuracy(MergeInputs in, Map<String, INDArray> deltas, int task, Split split);

    /** The base model alone. */
    double baseAccuracy(int task, Split split);

    /** The task's own LoRA. */
    double individualAccuracy(int task, Split split);

    /** Merges run so far (for progress). */
    int merges();

    /** Calibration sizes for the sweep. */
    int[] calibrationSizes(boolean quick);

    /** Report title and the paragraph that says what the models and tasks are. */
    String title();

    String description(int calibration);

    static int all(int n) {
        return (1 << n) - 1;
    }
}
