package io.iteris.bench.quality;

import io.iteris.core.engine.MergeInputs;
import io.iteris.core.export.LoraExporter;
import io.iteris.core.linalg.Blas;
import io.iteris.core.model.BaseModel;
import io.iteris.core.model.ModelRunner;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A label-free feature-matching refinement after IterIS's closed form, after ProDistill (arXiv 2502.12706): layer by
 * layer from the first, each layer's published LoRA factors (B, A; ΔW = BA at the summed input rank) are refined by Adam
 * on
 * <pre>
 *   Σ_i ‖act((W0 + BA) X̂_i + b) − Y_i‖²_F / ‖Y_i‖²_F
 * </pre>
 * X̂_i: the merged model's inputs to the layer on task i's calibration samples, the earlier layers already refined
 * (ProDistill's "dual inputs", IterIS's X̃). Y_i: task i's own LoRA model's outputs of the layer on the same samples,
 * after the activation (tanh) or, at the last layer, its logits. Each task's term is scaled by its targets' energy so
 * that every task counts alike.
 *
 * <p>Why after the activation: IterIS already solves the pre-activation version of this objective exactly (with its
 * ridge); the activation weighs each unit's error by how much it changes the next layer's input, which a linear solve
 * cannot. That needs the model's activation and its gradient, which the image suite's MLP has and an ONNX model run
 * for inference does not: this is a benchmark lever, not a merge method ({@code docs/quality.md} measures both the
 * activation-side and the pre-activation-side versions).
 *
 * <p>The activation is tanh after every layer but the last, as the image suite's MLP ({@link io.iteris.core.model.TanhMlpRunner}
 * without feedback).
 */
final class FeatureRefinement {
    /** Adam's step size and how many steps each layer takes. */
    record Settings(double rate, int steps) {
        @Override
        public String toString() {
            return "rate " + rate + ", steps " + steps;
        }
    }

    static final double[] RATES = {3e-4, 1e-3, 3e-3, 1e-2};
    static final int[] STEPS = {25, 50, 100, 200, 400};

    /** Every rate with every number of steps; a smoke run ({@code quick}) tries two points. */
    static List<Settings> grid(boolean quick) {
        if (quick) {
            return List.of(new Settings(1e-3, 25), new Settings(1e-3, 50));
        }
        List<Settings> g = new ArrayList<>();
        for (double r : RATES) {
            for (int s : STEPS) {
                g.add(new Settings(r, s));
            }
        }
        return g;
    }

    /**
     * Every temporary of an Adam step lives in one workspace, reused by the next step: hundreds of steps would otherwise
     * leave gigabytes of native buffers that the garbage collector does not see (a first version was killed for memory).
     */
    private static final WorkspaceConfiguration STEP = WorkspaceConfiguration.builder()
            .policyAllocation(AllocationPolicy.STRICT).policyLearning(LearningPolicy.FIRST_LOOP).build();

    private final ModelRunner runner;
    private final List<String> layers;
    private final List<INDArray> biases = new ArrayList<>();

    FeatureRefinement(ModelRunner runner, BaseModel base) {
        this.runner = runner;
        this.layers = runner.targetLayers();
        for (String l : layers) {
            long out = base.linearShape(l, false)[0];
            biases.add(base.source().contains(l + ".bias")
                    ? Nd4j.create(base.values(l + ".bias"), new long[]{1, out}, DataType.DOUBLE)
                    : Nd4j.zeros(DataType.DOUBLE, 1, out));
        }
    }

    /**
     * The refined updates of every layer, each BA at the layer's summed input rank.
     *
     * @param deltas      the merge's published updates
     * @param calibration per task of {@code in}, the calibration samples the merge used, as the runner takes them
     */
    Map<String, INDArray> refine(MergeInputs in, Map<String, INDArray> deltas, List<INDArray> calibration, Settings s) {
        int n = calibration.size();
        List<ModelRunner.Forward> own = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            own.add(runner.run(in.taskWeights(i), calibration.get(i), true));
        }
        Map<String, INDArray> current = new LinkedHashMap<>(deltas);
        for (int l = 0; l < layers.size(); l++) {
            String layer = layers.get(l);
            boolean last = l == layers.size() - 1;
            List<INDArray> xs = new ArrayList<>();
            List<INDArray> ys = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                INDArray x = runner.run(in.mergedWeights(current), calibration.get(i), true).layerInputs().get(layer);
                INDArray y = last ? own.get(i).output() : own.get(i).layerInputs().get(layers.get(l + 1));
                xs.add(x);
                ys.add(y.reshape('c', x.size(0), -1));
            }
            LoraExporter.Factorised f = LoraExporter.factorise(current.get(layer), in.summedRank(layer));
            INDArray b = f.b().dup('c');
            INDArray a = f.a().dup('c');
            fitLayer(xs, ys, in.w0(layer), biases.get(l), !last, b, a, s);
            current.put(layer, b.mmul(a));
        }
        return current;
    }

    /** Adam on B and A (updated in place) for one layer's objective. */
    static void fitLayer(List<INDArray> xs, List<INDArray> ys, INDArray w0, INDArray bias, boolean tanh,
                         INDArray b, INDArray a, Settings s) {
        INDArray mb = b.like();
        INDArray vb = b.like();
        INDArray ma = a.like();
        INDArray va = a.like();
        for (int t = 1; t <= s.steps(); t++) {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(STEP, "feature-refinement")) {
                INDArray g = gradient(xs, ys, w0.add(b.mmul(a)), bias, tanh);
                INDArray gb = g.mmul(a.transpose());
                INDArray ga = b.transpose().mmul(g);
                adam(b, gb, mb, vb, s.rate(), t);
                adam(a, ga, ma, va, s.rate(), t);
            }
        }
    }

    /** The layer's objective at W (see the class comment). */
    static double loss(List<INDArray> xs, List<INDArray> ys, INDArray w, INDArray bias, boolean tanh) {
        double sum = 0;
        for (int i = 0; i < xs.size(); i++) {
            INDArray r = outputs(xs.get(i), w, bias, tanh).subi(ys.get(i));
            double e = Blas.frobenius(ys.get(i));
            double rn = Blas.frobenius(r);
            sum += rn * rn / (e * e);
        }
        return sum;
    }

    /** ∂loss/∂W = Σ_i 2 (R_i ∘ act')ᵀ X̂_i / ‖Y_i‖², R_i the residual of task i's outputs. */
    static INDArray gradient(List<INDArray> xs, List<INDArray> ys, INDArray w, INDArray bias, boolean tanh) {
        INDArray g = Nd4j.zeros(DataType.DOUBLE, w.rows(), w.columns());
        for (int i = 0; i < xs.size(); i++) {
            INDArray p = outputs(xs.get(i), w, bias, tanh);
            INDArray r = p.sub(ys.get(i));
            if (tanh) {
                r.muli(p.mul(p).rsubi(1.0));
            }
            double e = Blas.frobenius(ys.get(i));
            g.addi(r.transpose().mmul(xs.get(i)).muli(2.0 / (e * e)));
        }
        return g;
    }

    private static INDArray outputs(INDArray x, INDArray w, INDArray bias, boolean tanh) {
        INDArray z = x.mmul(w.transpose()).addiRowVector(bias);
        return tanh ? Transforms.tanh(z, false) : z;
    }

    private static void adam(INDArray p, INDArray g, INDArray m, INDArray v, double rate, int t) {
        double b1 = 0.9;
        double b2 = 0.999;
        m.muli(b1).addi(g.mul(1 - b1));
        v.muli(b2).addi(g.mul(g).muli(1 - b2));
        INDArray step = m.div(1 - Math.pow(b1, t)).divi(Transforms.sqrt(v.div(1 - Math.pow(b2, t)), false).addi(1e-12));
        p.subi(step.muli(rate));
    }
}
