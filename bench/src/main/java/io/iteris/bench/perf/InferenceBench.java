package io.iteris.bench.perf;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.iteris.core.demo.TinyLlama;
import io.iteris.core.engine.StatisticsSharing;
import io.iteris.core.model.onnx.Device;
import io.iteris.core.model.onnx.ModuleNames;
import io.iteris.core.model.onnx.OnnxModelFile;
import io.iteris.core.model.onnx.OnnxModelRunner;
import io.iteris.core.model.onnx.OnnxTransformerRunner;
import io.iteris.core.safetensors.DType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;


import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code bench inference}: one batch of 32 calibration sequences through our inference passes, against a plain ONNX
 * Runtime run of the unmodified model on the same batch with the same session options, in the same run. Ours: the
 * capture pass (the task models' inputs X, first iteration), and the statistics pass of every later iteration (the
 * merged model's weights fed, X̃ captured with padding left out, C = XᵀX̃ and H = X̃ᵀX̃ multiplied) with the Gram on the
 * host and in the session. The floor is the plain run: what the statistics cost beyond it is ours to cut.
 */
final class InferenceBench {
    private InferenceBench() {
    }

    /** A model and the modules whose inputs the merge needs. */
    record Case(String name, Path model, ModuleNames names, List<String> targets, int tokens, long vocabulary) {
    }

    static ResultTable run(List<Case> cases, int reps, PrintStream log) throws OrtException {
        ResultTable t = new ResultTable("model", "tokens", "plain_ms", "capture_ms", "stats_host_ms", "stats_session_ms",
                "capture_ratio", "host_ratio", "session_ratio");
        for (Case c : cases) {
            INDArray samples = TransferBench.ids(new SplittableRandom(29), c.tokens(), c.vocabulary());
            OnnxModelFile file = OnnxModelFile.open(c.model());
            double plain = plainRun(c.model(), samples, reps);
            try (OnnxModelRunner host = OnnxModelRunner.open(file, c.names(), c.targets(), Device.CPU.withGram(Device.Gram.HOST));
                 OnnxModelRunner session = OnnxModelRunner.open(file, c.names(), c.targets(), Device.CPU.withGram(Device.Gram.DEVICE))) {
                Map<String, INDArray> w0 = host.w0();
                double capture = Measure.medianMillis(1, reps, () -> host.capture(w0, samples));
                // the statistics' layers, as ShardInference keeps them: one per shared input
                Map<String, INDArray> x = StatisticsSharing.leadersOnly(host.capture(w0, samples),
                        StatisticsSharing.leaders(host.targetLayers(), host.inputOf()));
                double hostMs = Measure.medianMillis(1, reps, () -> host.statistics(w0, samples, x, false));
                double sessionMs = Measure.medianMillis(1, reps, () -> session.statistics(w0, samples, x, false));
                t.add(c.name(), c.tokens(), plain, capture, hostMs, sessionMs, capture / plain, hostMs / plain, sessionMs / plain);
                log.printf("  %s, %d x %d tokens, %d inputs: plain run %.1f ms; capture %.1f ms (%.2f×); statistics, host Gram %.1f ms (%.2f×),"
                                + " session Gram %.1f ms (%.2f×)%n", c.name(), TransferBench.SEQUENCES, c.tokens(), x.size(), plain, capture, capture / plain,
                        hostMs, hostMs / plain, sessionMs, sessionMs / plain);
            }
        }
        return t;
    }

    /** The shipped MiniLM's query and value inputs, and a LLaMA-shaped decoder's q/v (float32, external data, written under work). */
    static List<Case> defaultCases(Path minilm, Path work, boolean quick) {
        int hidden = quick ? 128 : 512;
        TinyLlama.Shape shape = new TinyLlama.Shape(512, hidden, hidden * 8 / 3, quick ? 2 : 4, 128, DType.F32, true);
        Path llama = TinyLlama.writeModel(work.resolve("inference-llama-" + hidden), shape, 31);
        return List.of(new Case("all-MiniLM-L6-v2", minilm, ModuleNames.DEFAULT, List.of("query", "value"), quick ? 32 : 128, 30522),
                new Case("LLaMA-shaped " + hidden + "x" + shape.layers(), llama, ModuleNames.DEFAULT, List.of("q_proj", "v_proj"), quick ? 32 : 128,
                        shape.vocab()));
    }

    /** Median time of the unmodified model on the same batch: its token inputs fed as the runner feeds them, its outputs fetched. */
    private static double plainRun(Path model, INDArray samples, int reps) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OnnxTransformerRunner.TokenBatch batch = OnnxModelRunner.tokenBatch(samples.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(0)));
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(model.toString(), options)) {
                Map<String, OnnxTensor> feeds = new HashMap<>();
                try {
                    for (String input : session.getInputNames()) {
                        feeds.put(input, OnnxTransformerRunner.tokenInput(env, input, batch));
                    }
                    return Measure.medianMillis(1, reps, () -> {
                        try (OrtSession.Result ignored = session.run(feeds)) {
                            // outputs fetched and released, as a user's run would
                        }
                    });
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
            }
        }
    }
}
