package io.iteris.bench.perf;

import io.iteris.core.demo.TinyLlama;
import io.iteris.core.engine.StatisticsSharing;
import io.iteris.core.model.onnx.Device;
import io.iteris.core.model.onnx.ModuleNames;
import io.iteris.core.model.onnx.OnnxModelFile;
import io.iteris.core.model.onnx.OnnxModelRunner;
import io.iteris.core.model.onnx.OnnxTransformerRunner;
import io.iteris.core.safetensors.DType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code bench transfer}: one work unit's statistics (32 sequences of a LLaMA-shaped decoder, q_proj and v_proj of every
 * layer, one shared input per layer) with the Gram on the host (the activations copied out of ONNX Runtime, C and H
 * multiplied by OpenBLAS) against the Gram on the device (float64 products inside the session, only
 * C and H copied out), in the same run: bytes out of and into ONNX Runtime per unit, and time. On a GPU ({@code --device
 * cuda:N}) the bytes are the device-to-host and host-to-device copies. The device path copies 16·in² bytes per shared
 * input and 32-sequence batch; the host path B·T·in·e (e: 4 for float32, 2 for float16), so which moves fewer bytes
 * depends on the tokens per sequence; what always moves is the Gram's arithmetic, off the CPU.
 */
final class TransferBench {
    static final int SEQUENCES = 32;
    static final int VOCAB = 512;

    private TransferBench() {
    }

    static ResultTable run(int[] dims, int tokens, int layers, Device device, Path work, PrintStream log) {
        ResultTable t = new ResultTable("in", "dtype", "rows", "host_out_mb", "device_out_mb", "device_x_in_mb", "out_ratio", "host_ms",
                "device_ms", "time_ratio");
        SplittableRandom rng = new SplittableRandom(17);
        for (int in : dims) {
            for (DType dtype : new DType[]{DType.F32, DType.F16}) {
                TinyLlama.Shape shape = new TinyLlama.Shape(VOCAB, in, in, layers, tokens, dtype, true);
                Path model = TinyLlama.writeModel(work.resolve("transfer-" + in + "-" + dtype), shape, 23);
                OnnxModelFile file = OnnxModelFile.open(model);
                INDArray samples = ids(rng, tokens, VOCAB);
                List<String> kinds = List.of("q_proj", "v_proj");
                try (OnnxModelRunner host = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, device.withGram(Device.Gram.HOST));
                     OnnxModelRunner onDevice = OnnxModelRunner.open(file, ModuleNames.DEFAULT, kinds, device.withGram(Device.Gram.DEVICE))) {
                    Map<String, INDArray> w0 = host.w0();
                    // the statistics' layers, as ShardInference keeps them: one per shared input
                    Map<String, INDArray> x = StatisticsSharing.leadersOnly(host.capture(w0, samples),
                            StatisticsSharing.leaders(host.targetLayers(), host.inputOf()));
                    long rows = x.values().iterator().next().size(0);
                    OnnxTransformerRunner.Transfer h0 = host.transfer();
                    double hostMs = Measure.medianMillis(1, 3, () -> host.statistics(w0, samples, x, false));
                    OnnxTransformerRunner.Transfer h1 = host.transfer();
                    OnnxTransformerRunner.Transfer d0 = onDevice.transfer();
                    double deviceMs = Measure.medianMillis(1, 3, () -> onDevice.statistics(w0, samples, x, false));
                    OnnxTransformerRunner.Transfer d1 = onDevice.transfer();
                    int runs = 4; // one warm-up and three timed
                    double hostOut = (h1.out() - h0.out()) / (double) runs / 1e6;
                    double deviceOut = (d1.out() - d0.out()) / (double) runs / 1e6;
                    double deviceIn = ((d1.inputsIn() - d0.inputsIn()) - (h1.inputsIn() - h0.inputsIn())) / (double) runs / 1e6;
                    String dt = dtype.name().toLowerCase();
                    t.add(in, dt, rows, hostOut, deviceOut, deviceIn, deviceOut / hostOut, hostMs, deviceMs, deviceMs / hostMs);
                    log.printf("  in %d, %s, %d rows, %d layers: out %.2f MB (host Gram) vs %.2f MB (device Gram, +%.2f MB of X in);"
                            + " %.1f ms vs %.1f ms%n", in, dt, rows, layers, hostOut, deviceOut, deviceIn, hostMs, deviceMs);
                }
            }
        }
        return t;
    }

    /**
     * {@link #SEQUENCES} sequences of up to {@code tokens} ids below {@code vocabulary}, lengths drawn from the upper half
     * (some padding, as text calibration has), as [S, T, 1] with −1 at padding.
     */
    static INDArray ids(SplittableRandom rng, int tokens, long vocabulary) {
        double[] v = new double[SEQUENCES * tokens];
        for (int s = 0; s < SEQUENCES; s++) {
            int len = tokens / 2 + rng.nextInt(tokens / 2 + 1);
            for (int i = 0; i < tokens; i++) {
                v[s * tokens + i] = i < len ? 1 + rng.nextInt(Math.toIntExact(vocabulary) - 1) : -1;
            }
        }
        return Nd4j.create(v, new long[]{SEQUENCES, tokens, 1});
    }
}
