package io.iteris.core.engine;

import io.iteris.core.peft.PeftAdapter;

/** A task adapter under the name the user gave it, with its manual coefficient m_i. */
public record NamedAdapter(String name, PeftAdapter adapter, double manualCoef) {
    public NamedAdapter {
        if (!(manualCoef > 0) || !Double.isFinite(manualCoef)) {
            throw new IllegalArgumentException("adapter '" + name + "': manual_coef must be a positive number, got " + manualCoef);
        }
    }
}
