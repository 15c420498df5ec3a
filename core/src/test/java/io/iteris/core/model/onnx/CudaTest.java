package io.iteris.core.model.onnx;

import io.iteris.core.demo.TinyLlama;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.safetensors.DType;
import io.iteris.core.stats.GramStatistics;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA path on a GPU: skipped, naming the missing device and why, unless this build has ONNX Runtime's CUDA provider
 * ({@code ./mvnw -Pgpu}) and the host a GPU it can use ({@code ITERIS_TEST_CUDA_DEVICE}, default cuda:0). Then a
 * LLaMA-shaped model's forward pass and its statistics on the GPU, with the Gram in the session (the default there) and
 * on the host, agree with the CPU's to float32 rounding, and a float16 model runs too.
 */
class CudaTest {
    /** Relative: float32 forward passes on two devices (different kernels, TF32 off), statistics in float64. */
    static final double F32_TOLERANCE = 1e-4;
    static final double F16_TOLERANCE = 2e-2;

    @TempDir
    Path tmp;

    /** The GPU to test on; the test is skipped, saying which device is missing and why, when there is none. */
    static Device gpu() {
        Device d = Device.parse(System.getenv().getOrDefault("ITERIS_TEST_CUDA_DEVICE", "cuda:0"));
        String why = d.unusable();
        if (why != null) {
            System.out.println("CudaTest skipped, no CUDA device: " + why);
        }
        Assumptions.assumeTrue(why == null, "no CUDA device: " + why);
        return d;
    }

    @Test
    void forwardPassesAndStatisticsOnTheGpuMatchTheCpu() {
        Device gpu = gpu();
        for (DType dtype : List.of(DType.F32, DType.F16)) {
            TinyLlama.Shape shape = new TinyLlama.Shape(64, 64, 96, 2, 32, dtype, true);
            Path model = TinyLlama.writeModel(tmp.resolve(dtype.name()), shape, 41);
            OnnxModelFile file = OnnxModelFile.open(model);
            List<String> kinds = List.of("q_proj", "v_proj", "o_proj", "down_proj");
            SplittableRandom rng = new SplittableRandom(5);
            INDArray samples = GramOnDeviceTest.ids(rng, 40, 24, shape.vocab());
            double tolerance = dtype == DType.F32 ? F32_TOLERANCE : F16_TOLERANCE;
            try (OnnxModelRunner cpu = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, Device.CPU);
                 OnnxModelRunner onGpu = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, gpu);
                 OnnxModelRunner gpuHostGram = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, gpu.withGram(Device.Gram.HOST))) {
                Map<String, INDArray> w0 = cpu.w0();
                Map<String, INDArray> task = GramOnDeviceTest.perturbed(w0, rng, 0.02);
                Map<String, INDArray> merged = GramOnDeviceTest.perturbed(w0, rng, 0.02);
                Map<String, INDArray> xCpu = GramOnDeviceTest.leadersOnly(cpu, cpu.run(task, samples, true).layerInputs());
                Map<String, INDArray> xGpu = GramOnDeviceTest.leadersOnly(onGpu, onGpu.run(task, samples, true).layerInputs());
                for (String m : xCpu.keySet()) {
                    double err = Matrices.relativeError(xCpu.get(m), xGpu.get(m));
                    assertTrue(err < tolerance, dtype + " " + m + " captured inputs, GPU against CPU: " + err);
                }
                Map<String, GramStatistics> want = cpu.statistics(merged, samples, xCpu, true);
                Map<String, GramStatistics> session = onGpu.statistics(merged, samples, xGpu, true);
                Map<String, GramStatistics> host = gpuHostGram.statistics(merged, samples, xGpu, true);
                for (String m : xCpu.keySet()) {
                    for (Map<String, GramStatistics> got : List.of(session, host)) {
                        GramStatistics a = want.get(m);
                        GramStatistics b = got.get(m);
                        assertEquals(a.rows(), b.rows());
                        assertTrue(Matrices.relativeError(a.c(), b.c()) < tolerance, dtype + " " + m + " C: " + Matrices.relativeError(a.c(), b.c()));
                        assertTrue(Matrices.relativeError(a.h(), b.h()) < tolerance, dtype + " " + m + " H: " + Matrices.relativeError(a.h(), b.h()));
                        assertTrue(Matrices.relativeError(a.g(), b.g()) < tolerance, dtype + " " + m + " G: " + Matrices.relativeError(a.g(), b.g()));
                    }
                }
                System.out.printf("%s on %s: statistics out %d bytes with the Gram in the session, %d on the host%n", dtype, gpu,
                        onGpu.transfer().out(), gpuHostGram.transfer().out());
            }
        }
    }

    /** A whole IterIS merge of a tiny LLaMA with external data, its forward passes and statistics on the GPU, against the CPU's. */
    @Test
    void aWholeMergeOnTheGpuMatchesTheCpu() {
        Device gpu = gpu();
        TinyLlama.Example ex = TinyLlama.writeExample(tmp.resolve("merge"), TinyLlamaMergeTest.F32, List.of(2, 4, 6),
                List.of("q_proj", "v_proj"), 24, 3);
        io.iteris.core.config.MergeSettings s = TinyLlamaMergeTest.settings(ex, TinyLlamaMergeTest.calibration(ex, tmp.resolve("merge")),
                tmp.resolve("merge/out"));
        io.iteris.core.engine.MergeOutcome onCpu = io.iteris.core.engine.Merger.withData(io.iteris.core.engine.Merger.loadMergeInputs(s),
                Device.CPU).localEngine().run(null);
        io.iteris.core.engine.MergeOutcome onGpu = io.iteris.core.engine.Merger.withData(io.iteris.core.engine.Merger.loadMergeInputs(s),
                gpu).localEngine().run(null);
        double worst = 0;
        for (String layer : onCpu.deltas().keySet()) {
            worst = Math.max(worst, io.iteris.core.linalg.Matrices.relativeError(onCpu.deltas().get(layer), onGpu.deltas().get(layer)));
        }
        System.out.printf("CudaTest merge: tiny LLaMA, float32, external data, 3 solves on %s: max relative difference of dW from the CPU %.2e%n",
                gpu, worst);
        assertTrue(worst < F32_TOLERANCE, "merged on the GPU against the CPU: " + worst);
    }
}
