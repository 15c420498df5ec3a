package io.iteris.core.merge;

import com.typesafe.config.Config;
import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/** Task arithmetic (Ilharco et al., ICLR 2023): ΔW = λ·Σ m_i ΔW_i. */
public final class TaskArithmeticMethod extends DescribedMethod {
    public static final String NAME = "task_arithmetic";
    private final double lambda;

    public TaskArithmeticMethod(Config config) {
        this(config.getDouble("lambda"));
    }

    public TaskArithmeticMethod(double lambda) {
        super(NAME, "Task arithmetic", "https://arxiv.org/abs/2212.04089", DataNeeds.NONE);
        this.lambda = lambda;
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
