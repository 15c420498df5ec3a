package io.iteris.bench.quality;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The hyper-parameters the quality benchmark tries for each method, on one suite. */
final class TuningGrids {
    private final BenchTasks suite;
    private final boolean quick;
    /** α1/α2 tried with each α2 of IterIS's grid. */
    private final double[] ridgeRatios;

    TuningGrids(BenchTasks suite, boolean quick, double[] ridgeRatios) {
        this.suite = suite;
        this.quick = quick;
        this.ridgeRatios = ridgeRatios;
    }

    /**
     * Candidate parameters per method; the validation split decides among them. Every grid reaches past the value
     * each method chose in the last measured run on both suites, or stops at a natural bound (density 1, Iso-C's
     * common fraction 1, RegMean's nondiag_scale 1); docs/quality.md lists them beside the choices.
     */
    List<Map<String, Object>> of(String method) {
        boolean small = quick || suite.validationItems() > 0;
        double[] lambdas = quick ? new double[]{1.0} : small ? new double[]{0.2, 0.3, 0.45, 0.6, 1.0, 1.4}
                : new double[]{0.2, 0.3, 0.4, 0.55, 0.7, 1.0, 1.3, 1.6};
        List<Map<String, Object>> g = new ArrayList<>();
        switch (method) {
            case "iteris" -> {
                for (double a : suite.iterisAlphas(quick)) {
                    for (double ratio : ridgeRatios) {
                        g.add(Map.of("alpha_1", a * ratio, "alpha_2", a, "iterations", suite.maxSolves(quick), "anchor", "none"));
                    }
                }
            }
            case "regmean", "regmean_pp" -> {
                for (double s : quick ? new double[]{0.9} : new double[]{0.5, 0.7, 0.9, 1.0}) {
                    g.add(Map.of("nondiag_scale", s));
                }
            }
            case "tsv" -> {
                for (double k : quick ? new double[]{1.0} : new double[]{0.25, 0.5, 1.0}) {
                    for (double l : lambdas) {
                        g.add(Map.of("keep_fraction", k, "lambda", l));
                    }
                }
            }
            case "iso_cts" -> {
                for (double c : quick ? new double[]{0.8} : new double[]{1.0, 0.8, 0.5, 0.3}) {
                    for (double l : lambdas) {
                        g.add(Map.of("common_fraction", c, "lambda", l));
                    }
                }
            }
            case "knots" -> {
                for (String merge : quick ? new String[]{"ties"} : new String[]{"ties", "dare"}) {
                    for (double d : quick ? new double[]{0.5} : small ? new double[]{0.05, 0.1, 0.2, 0.6, 1.0} : new double[]{0.1, 0.2, 0.5, 0.8, 1.0}) {
                        for (double l : lambdas) {
                            g.add(Map.of("merge", merge, "density", d, "lambda", l, "seed", 42));
                        }
                    }
                }
            }
            case "wudi" -> {
                // the authors fix λ = 1 and 300 steps; Adam's step is absolute, so its rate is searched over decades, and
                // λ too: from Σ τ_i at scale 1, 300 small steps cannot undo the sum's overshoot where tasks add up
                for (double lr : quick ? new double[]{1e-4} : new double[]{3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1}) {
                    for (double l : quick ? new double[]{1.0} : new double[]{0.1, 0.2, 0.3, 0.45, 0.6, 1.0}) {
                        g.add(Map.of("steps", 300, "learning_rate", lr, "lambda", l));
                    }
                }
            }
            case "core_space" -> {
                for (double l : lambdas) {
                    g.add(Map.of("inner", "tsv", "lambda", l));
                }
            }
            case "ties" -> {
                for (double d : quick ? new double[]{0.2} : new double[]{0.1, 0.2, 0.4, 0.7, 1.0}) {
                    for (double l : quick ? new double[]{1.0} : new double[]{0.2, 0.3, 0.5, 1.0, 1.5}) {
                        g.add(Map.of("density", d, "lambda", l));
                    }
                }
            }
            case "dare" -> {
                for (double d : quick ? new double[]{0.5} : new double[]{0.3, 0.5, 0.7, 0.9, 1.0}) {
                    for (double l : quick ? new double[]{0.5} : small ? new double[]{0.1, 0.2, 0.3, 0.45, 0.6, 1.0} : new double[]{0.1, 0.2, 0.3, 0.5, 0.7, 1.0}) {
                        g.add(Map.of("density", d, "lambda", l, "seed", 42));
                    }
                }
            }
            case "task_arithmetic" -> {
                for (double l : quick ? new double[]{0.5} : small ? new double[]{0.1, 0.2, 0.3, 0.45, 0.6, 1.0} : new double[]{0.1, 0.2, 0.4, 0.6, 0.8, 1.0}) {
                    g.add(Map.of("lambda", l));
                }
            }
            default -> g.add(Map.of());
        }
        return g;
    }

    /** Anchor strengths β tried: 1e-3 is close to the paper's solve, 10 close to task arithmetic on both suites. */
    static final double[] ANCHOR_STRENGTHS = {1e-3, 1e-2, 1e-1, 0.3, 1, 3, 10};

    /** IterIS anchored at task arithmetic at scale {@code s}, for each β, with the ridges and solves of {@code paper}. */
    List<Map<String, Object>> anchored(Map<String, Object> paper, double s) {
        List<Map<String, Object>> g = new ArrayList<>();
        for (double beta : quick ? new double[]{1e-1} : ANCHOR_STRENGTHS) {
            Map<String, Object> p = new LinkedHashMap<>(paper);
            p.put("anchor", "task_arithmetic");
            p.put("anchor_scale", s);
            p.put("anchor_strength", beta);
            g.add(p);
        }
        return g;
    }
}
