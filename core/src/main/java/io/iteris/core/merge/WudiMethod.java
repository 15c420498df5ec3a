package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * WUDI-Merging (Cheng et al., ICML 2025, "Whoever Started the Interference Should End It: Guiding Data-Free Model
 * Merging via Task Vectors"), as its authors' code builds it (github nathanielyvo/WUDI-Merging,
 * {@code vit/wudi_main.py} {@code get_redundant_task_vector}): per layer, starting from τ = Σ τ_i (τ_i = m_i·ΔW_i),
 * {@code steps} steps of Adam (PyTorch's, β = (0.9, 0.999), ε = 1e-8, no weight decay) at {@code learning_rate} on
 * <pre>
 *   L(τ) = Σ_i ‖(τ − τ_i)·τ_iᵀ‖²_F / ‖τ_i‖²_F
 * </pre>
 * the interference of τ with each task on that task's own input space (the rows of τ_i span it, the paper's
 * argument), then ΔW = λ·τ. The authors use 300 steps at 1e-5 for ViTs (2e-5 for RoBERTa) and λ = 1.
 *
 * <p>The gradient 2·Σ_i (τ − τ_i)·τ_iᵀτ_i/‖τ_i‖² = 2(τ·A − C) uses A = Σ τ_iᵀτ_i/‖τ_i‖² and C = Σ τ_i·τ_iᵀτ_i/‖τ_i‖²,
 * formed once. For a LoRA τ_i = s_i m_i B_i A_i, τ_iᵀτ_i = A_iᵀ(s_i² m_i² B_iᵀB_i)A_i, so τ·A is computed as
 * ((τ·A_catᵀ)·K)·A_cat with K block-diagonal [R×R]: out·in·R per step instead of out·in². Adam acts entry by entry,
 * so τ itself is dense; the published adapter cuts it to the layer's summed rank as for every dense method.
 *
 * <p>Departures: float64 throughout (the authors run float32 on a GPU); the loss is the same sum, its gradient
 * written out instead of taken by autograd (tested against the definition).
 */
public final class WudiMethod extends DescribedMethod {
    public static final String NAME = "wudi";
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;
    private final int steps;
    private final double learningRate;
    private final double lambda;

    public WudiMethod(Config config) {
        this(config.getInt("steps"), config.getDouble("learning_rate"), config.getDouble("lambda"));
    }

    public WudiMethod(int steps, double learningRate, double lambda) {
        super(NAME, "WUDI", "https://arxiv.org/abs/2503.08099", DataNeeds.NONE);
        if (steps < 0) {
            throw new IllegalArgumentException("wudi steps must be non-negative, got " + steps);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("wudi learning_rate must be positive, got " + learningRate);
        }
        this.steps = steps;
        this.learningRate = learningRate;
        this.lambda = lambda;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("steps", steps, "learning_rate", learningRate, "lambda", lambda);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        int out = Matrices.rows(input.w0());
        int in = Matrices.cols(input.w0());
        // F stacks each task's row factor, K its block: τ_iᵀτ_i/‖τ_i‖² = F_iᵀ K_i F_i
        List<INDArray> rowFactors = new ArrayList<>();
        List<INDArray> blocks = new ArrayList<>();
        INDArray tau = Matrices.zeros(out, in);
        INDArray c = Matrices.zeros(out, in);
        for (TaskLayer t : input.tasks()) {
            INDArray ti = t.delta().mul(t.manualCoef());
            double norm2 = Matrices.dot(ti, ti);
            Blas.axpy(1.0, ti, tau);
            if (!(norm2 > 0)) {
                continue;
            }
            INDArray f;
            INDArray k;
            if (t.lora() != null) {
                double s = t.lora().scale() * t.manualCoef();
                f = t.lora().a();
                k = Blas.crossGram(t.lora().b(), t.lora().b()).muli(s * s / norm2);
            } else {
                f = ti;
                k = Matrices.identity(out).muli(1.0 / norm2);
            }
            rowFactors.add(f);
            blocks.add(k);
            // C += τ_i·(F_iᵀ K_i F_i)
            Blas.axpy(1.0, Blas.mmul(Blas.mmul(Blas.mmul(ti, f.transpose()), k), f), c);
        }
        if (rowFactors.isEmpty()) {
            return LayerMergeResult.of(tau.muli(lambda));
        }
        INDArray fCat = Spectral.vstack(rowFactors, in);
        INDArray kCat = blockDiagonal(blocks);
        double[] x = Matrices.toArray(tau);
        double[] m = new double[x.length];
        double[] v = new double[x.length];
        for (int step = 1; step <= steps; step++) {
            // g = 2(τ·A − C)
            INDArray t = Matrices.of(x, out, in);
            INDArray ta = Blas.mmul(Blas.mmul(Blas.mmul(t, fCat.transpose()), kCat), fCat);
            double[] g = Matrices.toArray(ta.subi(c).muli(2));
            adamStep(x, g, m, v, step, learningRate);
        }
        return LayerMergeResult.of(Matrices.of(x, out, in).muli(lambda));
    }

    /** One step of PyTorch's Adam (weight decay 0, not amsgrad), in place. */
    static void adamStep(double[] x, double[] g, double[] m, double[] v, int step, double lr) {
        double bias1 = 1 - Math.pow(BETA1, step);
        double bias2 = 1 - Math.pow(BETA2, step);
        double stepSize = lr / bias1;
        double bias2Sqrt = Math.sqrt(bias2);
        for (int j = 0; j < x.length; j++) {
            m[j] = BETA1 * m[j] + (1 - BETA1) * g[j];
            v[j] = BETA2 * v[j] + (1 - BETA2) * g[j] * g[j];
            double denom = Math.sqrt(v[j]) / bias2Sqrt + EPS;
            x[j] -= stepSize * m[j] / denom;
        }
    }

    private static INDArray blockDiagonal(List<INDArray> blocks) {
        int n = blocks.stream().mapToInt(Matrices::rows).sum();
        INDArray d = Matrices.zeros(n, n);
        int at = 0;
        for (INDArray b : blocks) {
            int r = Matrices.rows(b);
            d.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(at, at + r), org.nd4j.linalg.indexing.NDArrayIndex.interval(at, at + r)).assign(b);
            at += r;
        }
        return d;
    }
}
