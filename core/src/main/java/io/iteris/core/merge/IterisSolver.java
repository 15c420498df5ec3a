package io.iteris.core.merge;

import io.iteris.core.linalg.Matrices;
import io.iteris.core.linalg.RightSolve;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The closed-form IterIS solve of one layer from per-task statistics (iteris-algorithm.md §3, §4, §6):
 * <pre>
 *   P_i = (1−ρ)C_i + ρG_i          Q_i = (1−ρ)²H_i + ρ(1−ρ)(C_i + C_iᵀ) + ρ²G_i
 *   λ1_i = α1‖P_i‖_F               λ2_i = α2‖Q_i‖_F
 *   c_i = ‖W0+ΔW_i‖²_F / trace((W0+ΔW_i) G_i (W0+ΔW_i)ᵀ)      ω_i = c_i·m_i
 *   W* = [Σ ω_i V_i (P_i + λ1_i I)] · [Σ ω_i (Q_i + λ2_i I)]⁻¹,  V_i = ΔW_i (or W0+ΔW_i with the pretrain matrix)
 * </pre>
 * Everything in float64. The norms are taken after shard statistics are summed: they are not additive.
 */
public final class IterisSolver {
    private IterisSolver() {
    }

    public static LayerMergeResult solve(LayerMergeInput in, IterisParameters p) {
        List<TaskLayer> tasks = in.tasks();
        int n = tasks.size();
        INDArray w0 = in.w0();
        int dim = Matrices.cols(w0);
        double[] coef = new double[n];
        double[] omega = new double[n];
        double[] lambda1 = new double[n];
        double[] lambda2 = new double[n];
        INDArray t1 = Matrices.zeros(Matrices.rows(w0), dim);
        INDArray t2 = Matrices.zeros(dim, dim);
        boolean anyRidge = false;
        double rho = p.regCoef();
        for (int i = 0; i < n; i++) {
            TaskLayer t = tasks.get(i);
            GramStatistics s = t.stats();
            if (s == null) {
                throw new IllegalArgumentException("layer " + in.layer() + ", task " + t.task() + ": no statistics");
            }
            if (s.dim() != dim) {
                throw new IllegalArgumentException("layer " + in.layer() + ", task " + t.task() + ": statistics are "
                        + s.dim() + "x" + s.dim() + " but the layer has " + dim + " inputs");
            }
            INDArray full = w0.add(t.delta());
            coef[i] = p.adaptiveCoef() ? adaptiveCoefficient(in.layer(), t.task(), full, s.g()) : 1.0;
            omega[i] = coef[i] * t.manualCoef();
            INDArray pm = rho == 0 ? s.c() : s.c().mul(1 - rho).addi(s.g().mul(rho));
            INDArray qm = rho == 0 ? s.h() : s.h().mul((1 - rho) * (1 - rho))
                    .addi(s.c().add(s.c().transpose()).muli(rho * (1 - rho)))
                    .addi(s.g().mul(rho * rho));
            lambda1[i] = p.alpha1() * Matrices.frobenius(pm);
            lambda2[i] = p.alpha2() * Matrices.frobenius(qm);
            anyRidge |= lambda2[i] > 0;
            INDArray target = p.withPretrainMatrix() ? full : t.delta();
            // ω V (P + λ1 I) = ω (V P + λ1 V)
            t1.addi(target.mmul(pm).addi(target.mul(lambda1[i])).muli(omega[i]));
            t2.addi(Matrices.addToDiagonal(qm.dup(), lambda2[i]).muli(omega[i]));
        }
        RightSolve.Solution sol;
        try {
            sol = RightSolve.solve(t1, t2);
        } catch (RightSolve.SingularSystemException e) {
            throw new IllegalArgumentException("layer " + in.layer() + ": " + e.getMessage() + "; "
                    + (anyRidge ? "raise iteris.methods.iteris.alpha_2 (now " + p.alpha2() + ")" : "set iteris.methods.iteris.alpha_2 > 0")
                    + " or add calibration samples (without a ridge their rows must span all " + dim + " inputs)", e);
        }
        INDArray delta = p.withPretrainMatrix() ? sol.w().sub(w0) : sol.w();
        Map<String, double[]> diag = new LinkedHashMap<>();
        diag.put("coef", coef);
        diag.put("omega", omega);
        diag.put("lambda_1", lambda1);
        diag.put("lambda_2", lambda2);
        return new LayerMergeResult(delta, diag, sol.method().name().toLowerCase(java.util.Locale.ROOT));
    }

    /** c_i = ‖Wf‖²_F / ‖X Wfᵀ‖²_F, with ‖X Wfᵀ‖² = Σ (Wf G) ∘ Wf. */
    static double adaptiveCoefficient(String layer, String task, INDArray full, INDArray g) {
        double num = Matrices.dot(full, full);
        double den = Matrices.dot(full.mmul(g), full);
        if (!(den > 0) || !Double.isFinite(den) || !Double.isFinite(num)) {
            throw new IllegalArgumentException("layer " + layer + ", task " + task
                    + ": the layer's outputs on the task's features are all zero or not finite ("
                    + "‖X·Wᵀ‖² = " + den + "), so its adaptive coefficient is undefined; check the calibration data");
        }
        return num / den;
    }
}
