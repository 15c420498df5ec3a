package io.iteris.core.merge;

import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.linalg.RightSolve;
import io.iteris.core.peft.LoraModule;
import io.iteris.core.stats.GramStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

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
 *
 * <p>When every task's update is a LoRA, ΔW_i = s_i·B_i·A_i, the solve is exact and low-rank:
 * W* = B_cat·Zᵀ with B_cat = [ω_1 s_1 B_1 | … | ω_N s_N B_N] and Zᵀ = M·T2⁻¹, M the stacked rows A_i(P_i + λ1_i I).
 * That is one Cholesky of T2 with R = Σ r_i right-hand sides instead of {@code out}, and r_i·in² per task instead of
 * a dense out×in×in product; the result comes out factored. With the pretrain matrix the W0 part is summed first,
 * so it costs one dense product, not N. The dense path ({@link #solveDense}) stays for updates that are not LoRAs
 * and as the reference the tests hold the low-rank one to.
 *
 * <p>The adaptive coefficients c_i depend only on the task models (X_i and W0+ΔW_i), never on the merged model,
 * so a caller that hands back those of an earlier solve ({@link LayerMergeInput#coefficients}) skips their
 * dense products; with ρ = 0 such a solve needs no G at all.
 *
 * <p>The anchor ({@link IterisParameters#anchored()}): the paper's ridges pull W* toward Σλ1_iΔW_i/Σλ2_i, the tasks'
 * mean at equal ridges, which is task arithmetic at scale 1/N. An anchor ridge λ = β·Σ ω_i ‖Q_i‖_F pulls toward
 * task arithmetic at a chosen scale instead, W_TA = s·Σ m_i ΔW_i (or W0 + W_TA with the pretrain matrix):
 * <pre>
 *   W* = [Σ ω_i V_i (P_i + λ1_i I) + λ·W_TA] · [Σ ω_i (Q_i + λ2_i I) + λ I]⁻¹
 * </pre>
 * so β → ∞ returns task arithmetic exactly and β = 0 the paper's solve. W_TA = Σ (s m_i s_i B_i)A_i lies in the same
 * column space as B_cat, so the low-rank form holds: task i's rows of M gain (λ s / c_i)·A_i (ω_i = c_i m_i).
 */
public final class IterisSolver {
    private IterisSolver() {
    }

    public static LayerMergeResult solve(LayerMergeInput in, IterisParameters p) {
        return in.allLora() ? solveLowRank(in, p) : solveDense(in, p);
    }

    /** The per-task numbers and the system matrix T2 = Σ ω_i (Q_i + λ2_i I), shared by both paths. */
    private record Terms(double[] coef, double[] omega, double[] lambda1, double[] lambda2, List<INDArray> p, INDArray t2,
                         boolean anyRidge, double anchorLambda) {
        Map<String, double[]> diagnostics() {
            Map<String, double[]> diag = new LinkedHashMap<>();
            diag.put("coef", coef);
            diag.put("omega", omega);
            diag.put("lambda_1", lambda1);
            diag.put("lambda_2", lambda2);
            if (anchorLambda > 0) {
                diag.put("anchor_lambda", new double[]{anchorLambda});
            }
            return diag;
        }
    }

    private static Terms terms(LayerMergeInput in, IterisParameters p) {
        List<TaskLayer> tasks = in.tasks();
        int n = tasks.size();
        INDArray w0 = in.w0();
        int dim = Matrices.cols(w0);
        double[] coef = new double[n];
        double[] omega = new double[n];
        double[] lambda1 = new double[n];
        double[] lambda2 = new double[n];
        INDArray[] pms = new INDArray[n];
        INDArray t2 = Matrices.zeros(dim, dim);
        double diagonal = 0;
        double qNorms = 0;
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
            if (!p.adaptiveCoef()) {
                coef[i] = 1.0;
            } else if (in.coefficients() != null) {
                coef[i] = in.coefficients()[i];
            } else {
                coef[i] = adaptiveCoefficient(in.layer(), t.task(), w0.add(t.delta()), requireG(in, t));
            }
            omega[i] = coef[i] * t.manualCoef();
            INDArray pm = rho == 0 ? s.c() : s.c().mul(1 - rho).addi(requireG(in, t).mul(rho));
            INDArray qm = rho == 0 ? s.h() : s.h().mul((1 - rho) * (1 - rho))
                    .addi(s.c().add(s.c().transpose()).muli(rho * (1 - rho)))
                    .addi(requireG(in, t).mul(rho * rho));
            lambda1[i] = p.alpha1() == 0 ? 0 : p.alpha1() * Blas.frobenius(pm);
            double qNorm = p.alpha2() == 0 && !p.anchored() ? 0 : Blas.frobenius(qm);
            lambda2[i] = p.alpha2() == 0 ? 0 : p.alpha2() * qNorm;
            qNorms += omega[i] * qNorm;
            anyRidge |= lambda2[i] > 0;
            pms[i] = pm;
            Blas.axpy(omega[i], qm, t2);
            diagonal += omega[i] * lambda2[i];
        }
        double anchorLambda = p.anchored() ? p.anchorStrength() * qNorms : 0;
        anyRidge |= anchorLambda > 0;
        Blas.addToDiagonal(t2, diagonal + anchorLambda);
        return new Terms(coef, omega, lambda1, lambda2, List.of(pms), t2, anyRidge, anchorLambda);
    }

    private static INDArray requireG(LayerMergeInput in, TaskLayer t) {
        if (!t.stats().hasG()) {
            throw new IllegalArgumentException("layer " + in.layer() + ", task " + t.task()
                    + ": the solve needs G = XᵀX (for the adaptive coefficient or ρ > 0) but the statistics lack it");
        }
        return t.stats().g();
    }

    /** The textbook form: T1 = Σ ω_i V_i (P_i + λ1_i I) dense, then W* = T1·T2⁻¹. */
    public static LayerMergeResult solveDense(LayerMergeInput in, IterisParameters p) {
        Terms terms = terms(in, p);
        INDArray w0 = in.w0();
        INDArray t1 = Matrices.zeros(Matrices.rows(w0), Matrices.cols(w0));
        for (int i = 0; i < in.taskCount(); i++) {
            INDArray delta = in.tasks().get(i).delta();
            INDArray target = p.withPretrainMatrix() ? w0.add(delta) : delta;
            // ω V (P + λ1 I) = ω (V P + λ1 V)
            INDArray vp = Blas.dense(target.mmul(terms.p().get(i)));
            if (terms.lambda1()[i] != 0) {
                Blas.axpy(terms.lambda1()[i], target, vp);
            }
            Blas.axpy(terms.omega()[i], vp, t1);
        }
        if (terms.anchorLambda() > 0) {
            // + λ·W_TA, W_TA = s·Σ m_i ΔW_i (+ W0 with the pretrain matrix)
            for (TaskLayer t : in.tasks()) {
                Blas.axpy(terms.anchorLambda() * p.anchorScale() * t.manualCoef(), t.delta(), t1);
            }
            if (p.withPretrainMatrix()) {
                Blas.axpy(terms.anchorLambda(), w0, t1);
            }
        }
        RightSolve.Solution sol = rightSolve(in, p, terms, t1);
        INDArray delta = p.withPretrainMatrix() ? sol.w().sub(w0) : sol.w();
        return new LayerMergeResult(delta, terms.diagnostics(), solverName(sol), null, terms.coef());
    }

    /** The exact low-rank form for LoRA updates (see the class comment). */
    static LayerMergeResult solveLowRank(LayerMergeInput in, IterisParameters p) {
        Terms terms = terms(in, p);
        INDArray w0 = in.w0();
        int out = Matrices.rows(w0);
        int dim = Matrices.cols(w0);
        int rank = in.tasks().stream().mapToInt(t -> t.lora().rank()).sum();
        INDArray m = Matrices.zeros(rank, dim);
        INDArray bcat = Matrices.zeros(out, rank);
        INDArray s = p.withPretrainMatrix() ? Matrices.zeros(dim, dim) : null;
        double sDiagonal = 0;
        int at = 0;
        for (int i = 0; i < in.taskCount(); i++) {
            LoraModule lora = in.tasks().get(i).lora();
            int r = lora.rank();
            INDArray pm = terms.p().get(i);
            INDArray ap = Blas.mmul(lora.a(), pm);
            if (terms.lambda1()[i] != 0) {
                Blas.axpy(terms.lambda1()[i], lora.a(), ap);
            }
            if (terms.anchorLambda() > 0 && terms.omega()[i] != 0) {
                // λ s m_i s_i B_i A_i = (ω_i s_i B_i)·(λ s / c_i) A_i; a task with m_i = 0 is absent from both sides
                Blas.axpy(terms.anchorLambda() * p.anchorScale() / terms.coef()[i], lora.a(), ap);
            }
            m.get(NDArrayIndex.interval(at, at + r), NDArrayIndex.all()).assign(ap);
            bcat.get(NDArrayIndex.all(), NDArrayIndex.interval(at, at + r)).assign(lora.b().mul(terms.omega()[i] * lora.scale()));
            if (s != null) {
                Blas.axpy(terms.omega()[i], pm, s);
                sDiagonal += terms.omega()[i] * terms.lambda1()[i];
            }
            at += r;
        }
        if (s == null) {
            RightSolve.Solution sol = rightSolveInPlace(in, p, terms, m);
            INDArray zt = sol.w();
            return new LayerMergeResult(Blas.mmul(bcat, zt), terms.diagnostics(), solverName(sol), new LayerMergeResult.Factors(bcat, zt),
                    terms.coef());
        }
        // W0 [Σ ω_i (P_i + λ1_i I) + λ I] + B_cat M: one dense product with W0 instead of N
        Blas.addToDiagonal(s, sDiagonal + terms.anchorLambda());
        INDArray t1 = Blas.mmul(w0, s);
        Blas.axpy(1.0, Blas.mmul(bcat, m), t1);
        RightSolve.Solution sol = rightSolveInPlace(in, p, terms, t1);
        return new LayerMergeResult(sol.w().sub(w0), terms.diagnostics(), solverName(sol), null, terms.coef());
    }

    private static RightSolve.Solution rightSolve(LayerMergeInput in, IterisParameters p, Terms terms, INDArray t1) {
        try {
            return RightSolve.solve(t1, terms.t2());
        } catch (RightSolve.SingularSystemException e) {
            throw singular(in, p, terms, e);
        }
    }

    /** As {@link #rightSolve} on native memory, T2 exactly symmetric (sums of exactly symmetric H, G and C + Cᵀ). */
    private static RightSolve.Solution rightSolveInPlace(LayerMergeInput in, IterisParameters p, Terms terms, INDArray t1) {
        try {
            return RightSolve.solveSymmetricInPlace(terms.t2(), t1, () -> terms(in, p).t2());
        } catch (RightSolve.SingularSystemException e) {
            throw singular(in, p, terms, e);
        }
    }

    private static IllegalArgumentException singular(LayerMergeInput in, IterisParameters p, Terms terms, RightSolve.SingularSystemException e) {
        int dim = Matrices.cols(in.w0());
        return new IllegalArgumentException("layer " + in.layer() + ": " + e.getMessage() + "; "
                + (terms.anyRidge() ? "raise iteris.methods.iteris.alpha_2 (now " + p.alpha2() + ")" : "set iteris.methods.iteris.alpha_2 > 0")
                + " or add calibration samples (without a ridge their rows must span all " + dim + " inputs)", e);
    }

    private static String solverName(RightSolve.Solution sol) {
        return sol.method().name().toLowerCase(java.util.Locale.ROOT);
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
