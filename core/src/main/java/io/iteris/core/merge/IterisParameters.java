package io.iteris.core.merge;

import com.typesafe.config.Config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * IterIS hyper-parameters, named as in the official code's configs.
 *
 * @param iterations          number of solves (the official {@code max_iter})
 * @param alpha1              relative ridge on the target side: λ1_i = alpha_1·‖P_i‖_F
 * @param alpha2              relative ridge on the system side: λ2_i = alpha_2·‖Q_i‖_F
 * @param regCoef             ρ ({@code reg_ceof}): X̂ = (1−ρ)X̃ + ρX
 * @param withPretrainMatrix  solve for the full weight W0+ΔW instead of the delta
 * @param adaptiveCoef        use c_i = ‖W0+ΔW_i‖²/‖X_i(W0+ΔW_i)ᵀ‖²; when false ω_i = m_i
 * @param earlyStopTolerance  stop when the largest relative change of ΔW between solves falls below this (0 = off)
 * @param anchor              where the regulariser pulls: {@link Anchor#NONE} (the paper's ridges alone, which pull
 *                            toward zero or the tasks' mean) or {@link Anchor#TASK_ARITHMETIC}
 * @param anchorScale         s in the anchor W_TA = s·Σ m_i ΔW_i (task arithmetic's λ)
 * @param anchorStrength      β in the anchor's ridge λ = β·Σ ω_i ‖Q_i‖_F, relative per layer as α is: β → ∞ gives
 *                            task arithmetic at scale s exactly, β = 0 plain IterIS
 */
public record IterisParameters(int iterations, double alpha1, double alpha2, double regCoef,
                               boolean withPretrainMatrix, boolean adaptiveCoef, double earlyStopTolerance,
                               Anchor anchor, double anchorScale, double anchorStrength) {

    /** The point the anchor ridge pulls each layer's solve toward. */
    public enum Anchor {
        /** No anchor: the paper's solve. */
        NONE,
        /** Task arithmetic at scale {@code anchor_scale}. */
        TASK_ARITHMETIC;

        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Anchor parse(String s) {
            for (Anchor a : values()) {
                if (a.configName().equals(s)) {
                    return a;
                }
            }
            throw new IllegalArgumentException("iteris.methods.iteris.anchor must be none or task_arithmetic, got '" + s + "'");
        }
    }

    /** The paper's IterIS, without an anchor. */
    public IterisParameters(int iterations, double alpha1, double alpha2, double regCoef,
                            boolean withPretrainMatrix, boolean adaptiveCoef, double earlyStopTolerance) {
        this(iterations, alpha1, alpha2, regCoef, withPretrainMatrix, adaptiveCoef, earlyStopTolerance, Anchor.NONE, 0, 0);
    }

    public IterisParameters {
        if (anchor == null) {
            throw new IllegalArgumentException("iteris.methods.iteris.anchor must be none or task_arithmetic");
        }
        if (!(anchorStrength >= 0) || Double.isInfinite(anchorStrength)) {
            throw new IllegalArgumentException("iteris.methods.iteris.anchor_strength must be finite and non-negative, got " + anchorStrength);
        }
        if (!Double.isFinite(anchorScale)) {
            throw new IllegalArgumentException("iteris.methods.iteris.anchor_scale must be finite, got " + anchorScale);
        }
        if (iterations < 1) {
            throw new IllegalArgumentException("iteris.methods.iteris.iterations must be at least 1, got " + iterations);
        }
        if (!(alpha1 >= 0) || !(alpha2 >= 0)) {
            throw new IllegalArgumentException("iteris.methods.iteris.alpha_1 and alpha_2 must be non-negative, got " + alpha1 + ", " + alpha2);
        }
        if (!(regCoef >= 0 && regCoef <= 1)) {
            throw new IllegalArgumentException("iteris.methods.iteris.reg_ceof must lie in [0, 1], got " + regCoef);
        }
        if (!(earlyStopTolerance >= 0)) {
            throw new IllegalArgumentException("iteris.methods.iteris.early_stop_tolerance must be non-negative, got " + earlyStopTolerance);
        }
    }

    public static IterisParameters fromConfig(Config c) {
        return new IterisParameters(c.getInt("iterations"), c.getDouble("alpha_1"), c.getDouble("alpha_2"),
                c.getDouble("reg_ceof"), c.getBoolean("with_pretrain_matrix"), c.getBoolean("adaptive_coef"),
                c.getDouble("early_stop_tolerance"), Anchor.parse(c.getString("anchor")), c.getDouble("anchor_scale"),
                c.getDouble("anchor_strength"));
    }

    public IterisParameters withIterations(int k) {
        return new IterisParameters(k, alpha1, alpha2, regCoef, withPretrainMatrix, adaptiveCoef, earlyStopTolerance,
                anchor, anchorScale, anchorStrength);
    }

    /** Whether the anchor ridge is in the solve (an anchor named with a strength above zero). */
    public boolean anchored() {
        return anchor != Anchor.NONE && anchorStrength > 0;
    }

    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("iterations", iterations);
        m.put("alpha_1", alpha1);
        m.put("alpha_2", alpha2);
        m.put("reg_ceof", regCoef);
        m.put("with_pretrain_matrix", withPretrainMatrix);
        m.put("adaptive_coef", adaptiveCoef);
        m.put("early_stop_tolerance", earlyStopTolerance);
        m.put("anchor", anchor.configName());
        m.put("anchor_scale", anchorScale);
        m.put("anchor_strength", anchorStrength);
        return m;
    }
}
