package io.iteris.bench.train;

import io.iteris.bench.data.Shuffles;
import io.iteris.bench.data.TextTasks;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.safetensors.TensorSource;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Trains one task's rank-r LoRA on a frozen BERT encoder's query and value projections, under the task's
 * linear head on the mean-pooled last hidden states (trained alongside, or fixed at a random projection),
 * with Adam (float32, SameDiff autodiff through {@link BertLoraGraph}). Everything random comes from the seed.
 */
public final class TextLoraTrainer {
    /**
     * What to train and for how long. {@code headGain} &gt; 0 fixes the head at a random projection of that
     * row norm (the LoRA carries the whole skill); 0 trains the head with the LoRA.
     */
    public record Schedule(int steps, int batch, double learningRate, int rank, double alpha, long seed, double headGain) {
    }

    /** A trained task: its LoRA factors (float64, PEFT layout) and head [W (classes×hidden), b (classes)]. */
    public record Trained(Map<String, LoraModule> lora, INDArray[] head, double lastLoss) {
    }

    public static final List<String> TARGETS = List.of("query", "value");

    private TextLoraTrainer() {
    }

    /**
     * @param heads the encoder's attention heads (the weights do not say; 12 for MiniLM-L6)
     * @param step  called after every step with its number, for progress
     */
    public static Trained train(TensorSource base, int heads, TextTasks.Task task, TextTasks.TextSet train, Schedule s,
                                IntConsumer step) {
        SplittableRandom rng = new SplittableRandom(s.seed());
        int layers = BertLoraGraph.layers(base);
        Map<String, INDArray[]> init = new LinkedHashMap<>();
        for (int l = 0; l < layers; l++) {
            for (String t : TARGETS) {
                String module = "encoder.layer." + l + ".attention.self." + t;
                long[] shape = base.info(module + ".weight").shape();
                // PEFT's initialisation: A uniform in ±1/√in (Kaiming with a = √5), B zero, so training starts at W0.
                init.put(module, new INDArray[]{uniform(rng, (int) shape[1], s.rank(), 1.0 / Math.sqrt(shape[1])),
                        Nd4j.zeros(DataType.FLOAT, shape[0], s.rank())});
            }
        }
        int hidden = (int) base.info("embeddings.word_embeddings.weight").shape()[1];
        // uniform(±b) has standard deviation b/√3: rows of norm headGain need b = headGain·√3/√hidden.
        double bound = s.headGain() > 0 ? s.headGain() * Math.sqrt(3.0 / hidden) : 1.0 / Math.sqrt(hidden);
        INDArray[] head = {uniform(rng, hidden, task.classes().size(), bound), Nd4j.zeros(DataType.FLOAT, task.classes().size())};
        double scale = s.alpha() / s.rank();
        BertLoraGraph graph = new BertLoraGraph(base, heads, s.batch(), train.tokens(), TARGETS, init, scale, head);
        if (s.headGain() > 0) {
            graph.freezeHead();
        }
        SameDiff sd = graph.sameDiff();
        Map<String, INDArray> m = new HashMap<>();
        Map<String, INDArray> v = new HashMap<>();
        for (String name : graph.trainable()) {
            m.put(name, sd.getVariable(name).getArr().like().assign(0));
            v.put(name, sd.getVariable(name).getArr().like().assign(0));
        }
        quietly(sd::createGradFunction);
        int[] order = Shuffles.permutation(train.size(), rng);
        int cursor = 0;
        double loss = Double.NaN;
        for (int k = 1; k <= s.steps(); k++) {
            if (cursor + s.batch() > train.size()) {
                order = Shuffles.permutation(train.size(), rng);
                cursor = 0;
            }
            int[][] ids = new int[s.batch()][];
            int[] y = new int[s.batch()];
            for (int b = 0; b < s.batch(); b++) {
                ids[b] = train.ids()[order[cursor + b]];
                y[b] = train.labels()[order[cursor + b]];
            }
            cursor += s.batch();
            Map<String, INDArray> feeds = graph.feeds(ids, y, task.classes().size());
            var result = sd.calculateGradientsAndOutputs(feeds, List.of(BertLoraGraph.LOSS), graph.trainable());
            loss = result.getOutputs().get(BertLoraGraph.LOSS).getDouble(0);
            double lrT = s.learningRate() * Math.sqrt(1 - Math.pow(0.999, k)) / (1 - Math.pow(0.9, k));
            for (String name : graph.trainable()) {
                INDArray g = result.getGradients().get(name);
                INDArray p = sd.getVariable(name).getArr();
                m.get(name).muli(0.9).addi(g.mul(0.1));
                v.get(name).muli(0.999).addi(g.mul(g).muli(0.001));
                p.subi(m.get(name).div(Transforms.sqrt(v.get(name), true).addi(1e-8)).muli(lrT));
            }
            step.accept(k);
        }
        Map<String, LoraModule> lora = new LinkedHashMap<>();
        graph.loraVariables().forEach((module, names) -> lora.put(module, new LoraModule(module,
                sd.getVariable(names[0]).getArr().castTo(DataType.DOUBLE).dup('c'),
                sd.getVariable(names[1]).getArr().castTo(DataType.DOUBLE).dup('c'), scale)));
        INDArray[] trainedHead = {sd.getArrForVarName("head.weight").castTo(DataType.DOUBLE).dup('c'),
                sd.getArrForVarName("head.bias").castTo(DataType.DOUBLE).reshape(-1).dup('c')};
        return new Trained(lora, trainedHead, loss);
    }

    /** SameDiff prints a line per differentiated op to stdout while it builds the backward graph. */
    private static void quietly(Runnable r) {
        java.io.PrintStream out = System.out;
        System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            r.run();
        } finally {
            System.setOut(out);
        }
    }

    private static INDArray uniform(SplittableRandom rng, int in, int rows, double bound) {
        float[] v = new float[rows * in];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        return Nd4j.create(v, new long[]{rows, in}, 'c');
    }
}
