package io.iteris.core.peft;

import io.iteris.core.linalg.Matrices;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One LoRA-adapted linear layer.
 *
 * @param name  the PEFT module name (without {@code base_model.model.})
 * @param a     lora_A [r×in], float64
 * @param b     lora_B [out×r], float64
 * @param scale s = alpha/r (or alpha/√r with rsLoRA)
 */
public record LoraModule(String name, INDArray a, INDArray b, double scale) {
    public int rank() {
        return Matrices.rows(a);
    }

    public int inFeatures() {
        return Matrices.cols(a);
    }

    public int outFeatures() {
        return Matrices.rows(b);
    }

    /** ΔW = s·B·A [out×in] in the nn.Linear layout. */
    public INDArray delta() {
        return b.mmul(a).muli(scale);
    }
}
