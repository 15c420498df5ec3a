package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/** Task arithmetic (Ilharco et al., ICLR 2023): ΔW = λ·Σ m_i ΔW_i. */
public final class TaskArithmeticMethod implements MergeMethod {
    public static final String NAME = "task_arithmetic";
    private final double lambda;

    public TaskArithmeticMethod(Config config) {
        this(config.getDouble("lambda"));
    }

    public TaskArithmeticMethod(double lambda) {
        this.lambda = lambda;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String displayName() {
        return "Task arithmetic";
    }

    @Override
    public String reference() {
        return "https://arxiv.org/abs/2212.04089";
    }

    @Override
    public DataNeeds dataNeeds() {
        return DataNeeds.NONE;
    }

    @Override
    public Map<String, Object> parameters() {
        return Map.of("lambda", lambda);
    }

    @Override
    public LayerMergeResult mergeLayer(LayerMergeInput input) {
        return LayerMergeResult.of(weightedSum(input, lambda));
    }

    /** scale·Σ m_i ΔW_i, in task order. */
    static INDArray weightedSum(LayerMergeInput input, double scale) {
        INDArray sum = Matrices.zeros(input.w0().size(0), input.w0().size(1));
        for (TaskLayer t : input.tasks()) {
            sum.addi(t.delta().mul(t.manualCoef()));
        }
        return sum.muli(scale);
    }
}
