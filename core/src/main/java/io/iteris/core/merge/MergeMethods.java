package io.iteris.core.merge;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The registry: every merge method by name. Adding a method is one class and one line here.
 * Parameters come from {@code iteris.methods.<name>} (defaults in reference.conf).
 */
public final class MergeMethods {
    private static final Map<String, Function<Config, MergeMethod>> REGISTRY = new LinkedHashMap<>();

    static {
        REGISTRY.put(IterisMethod.NAME, IterisMethod::new);
        REGISTRY.put(RegMeanMethod.NAME, RegMeanMethod::new);
        REGISTRY.put(RegMeanPlusPlusMethod.NAME, RegMeanPlusPlusMethod::new);
        REGISTRY.put(TsvMethod.NAME, TsvMethod::new);
        REGISTRY.put(IsoCtsMethod.NAME, IsoCtsMethod::new);
        REGISTRY.put(KnotsMethod.NAME, KnotsMethod::new);
        REGISTRY.put(WudiMethod.NAME, WudiMethod::new);
        REGISTRY.put(CoreSpaceMethod.NAME, CoreSpaceMethod::new);
        REGISTRY.put(TiesMethod.NAME, TiesMethod::new);
        REGISTRY.put(DareMethod.NAME, DareMethod::new);
        REGISTRY.put(TaskArithmeticMethod.NAME, TaskArithmeticMethod::new);
        REGISTRY.put(AverageMethod.NAME, AverageMethod::new);
    }

    private MergeMethods() {
    }

    public static Set<String> names() {
        return REGISTRY.keySet();
    }

    /** The method {@code name} with its parameters from {@code config.getConfig("iteris.methods." + name)}. */
    public static MergeMethod create(String name, Config config) {
        Function<Config, MergeMethod> factory = REGISTRY.get(name);
        if (factory == null) {
            throw new IllegalArgumentException("unknown merge method '" + name + "'; known methods: " + String.join(", ", names()));
        }
        Config resolved = config.withFallback(ConfigFactory.defaultReference()).resolve();
        return factory.apply(resolved.getConfig("iteris.methods." + name));
    }

    /** The method with its reference.conf defaults. */
    public static MergeMethod create(String name) {
        return create(name, ConfigFactory.empty());
    }
}
