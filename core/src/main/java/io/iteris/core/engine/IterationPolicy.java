package io.iteris.core.engine;

import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.merge.MergeMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * The merge loop's rules, in one place for both engines ({@link LocalMergeEngine} and the actor engine's supervisor
 * and layer solvers): how many solves a method runs, when it stops early, and what one solve of a layer hands to the
 * next. G = XᵀX is summed once and kept, and so are the adaptive coefficients of each layer's first solve: both depend
 * only on the task models, which never change ({@link LayerMergeResult#carriedCoefficients()}).
 *
 * <p>The rules need the method; the carry-over ({@link #carryOver}) does not, so a layer solver keeps one before it
 * has loaded anything.
 */
public final class IterationPolicy {
    private static final Logger log = LoggerFactory.getLogger(IterationPolicy.class);

    private final MergeMethod method;

    public IterationPolicy(MergeMethod method) {
        this.method = method;
    }

    /** Solves the method runs at most: its own count for an iterative method, else one. */
    public static int solves(MergeMethod method) {
        return method.dataNeeds() == MergeMethod.DataNeeds.ITERATIVE ? method.solves() : 1;
    }

    public int solves() {
        return solves(method);
    }

    /** Whether the loop ends after solve {@code iteration} (0-based): the last one, or the method's early stop. */
    public boolean isLast(int iteration, double maxRelativeChange) {
        if (iteration + 1 >= solves()) {
            return true;
        }
        boolean stop = method.converged(iteration, maxRelativeChange);
        if (stop) {
            log.info("{} stops after solve {}: largest relative change {}", method.name(), iteration + 1, maxRelativeChange);
        }
        return stop;
    }

    /** A fresh record of what solves hand on, for one job's layers. */
    public static CarryOver carryOver() {
        return new CarryOver();
    }

    /** What one solve of a layer hands to the later ones: the first solve's coefficients. Not thread-safe. */
    public static final class CarryOver {
        private final Map<String, double[]> coefficients = new HashMap<>();

        private CarryOver() {
        }

        /** What a solve of {@code layer} is handed from earlier ones (null before its first). */
        public double[] coefficients(String layer) {
            return coefficients.get(layer);
        }

        /** Records a solve of {@code layer}: the first one's coefficients are kept for every later solve. */
        public void solved(String layer, LayerMergeResult result) {
            solved(layer, result.carriedCoefficients());
        }

        /** As above, with the coefficients as they travelled from the process that solved. */
        public void solved(String layer, double[] carried) {
            if (carried != null && carried.length > 0) {
                coefficients.putIfAbsent(layer, carried);
            }
        }
    }
}
