package io.iteris.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code iteris.merge} read once into types. Every field has its documented default in reference.conf;
 * the command line maps its flags onto the same keys.
 */
public record MergeSettings(String method, Path base, List<AdapterSpec> adapters, Path calibration, Path model,
                            Path out, boolean overwrite, OutputFormat outputFormat, int rank, String precision,
                            int shardSize, Config root) {

    public enum OutputFormat { LORA, DENSE }

    /** One {@code adapters} entry. */
    public record AdapterSpec(String name, Path path, double manualCoef) {
    }

    public MergeSettings {
        for (AdapterSpec a : adapters) {
            if (!(a.manualCoef() > 0) || !Double.isFinite(a.manualCoef())) {
                throw new IllegalArgumentException("adapter '" + a.name() + "': manual_coef must be a positive number, got " + a.manualCoef());
            }
        }
        if (rank < 0) {
            throw new IllegalArgumentException("iteris.merge.rank must be >= 0 (0 = automatic), got " + rank);
        }
        if (shardSize < 0) {
            throw new IllegalArgumentException("iteris.merge.shard-size must be >= 0, got " + shardSize);
        }
        if (!precision.equals("float64") && !precision.equals("float32")) {
            throw new IllegalArgumentException("iteris.merge.precision must be float64 or float32, got " + precision);
        }
    }

    /** Reads {@code iteris.merge} from {@code config} layered over reference.conf. */
    public static MergeSettings from(Config config) {
        Config root = config.withFallback(ConfigFactory.defaultReference()).resolve();
        KnownKeys.check(root);
        Config c = root.getConfig("iteris.merge");
        try {
            List<AdapterSpec> adapters = new ArrayList<>();
            int i = 0;
            for (Config a : c.getConfigList("adapters")) {
                String name = a.hasPath("name") ? a.getString("name") : "task" + i;
                if (!a.hasPath("path")) {
                    throw new IllegalArgumentException("iteris.merge.adapters[" + i + "] needs a path");
                }
                adapters.add(new AdapterSpec(name, Path.of(a.getString("path")),
                        a.hasPath("manual_coef") ? a.getDouble("manual_coef") : 1.0));
                i++;
            }
            String format = c.getString("output-format").toUpperCase(Locale.ROOT);
            OutputFormat of;
            try {
                of = OutputFormat.valueOf(format);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("iteris.merge.output-format must be lora or dense, got "
                        + c.getString("output-format"));
            }
            return new MergeSettings(c.getString("method"), path(c, "base"), List.copyOf(adapters), path(c, "calibration"),
                    path(c, "model"), path(c, "out"), c.getBoolean("overwrite"), of, c.getInt("rank"),
                    c.getString("precision"), c.getInt("shard-size"), root);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("bad configuration: " + e.getMessage(), e);
        }
    }

    /** {@code iteris.merge.onnx-module-names}: how an ONNX base's node names become module names. */
    public io.iteris.core.model.onnx.ModuleNames onnxModuleNames() {
        List<io.iteris.core.model.onnx.ModuleNames.Rule> rules = new ArrayList<>();
        int i = 0;
        for (Config r : root.getConfigList("iteris.merge.onnx-module-names")) {
            if (!r.hasPath("pattern") || !r.hasPath("replacement")) {
                throw new IllegalArgumentException("iteris.merge.onnx-module-names[" + i + "] needs a pattern and a replacement");
            }
            try {
                rules.add(new io.iteris.core.model.onnx.ModuleNames.Rule(java.util.regex.Pattern.compile(r.getString("pattern")),
                        r.getString("replacement")));
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new IllegalArgumentException("iteris.merge.onnx-module-names[" + i + "].pattern: " + e.getDescription());
            }
            i++;
        }
        return new io.iteris.core.model.onnx.ModuleNames(List.copyOf(rules));
    }

    private static Path path(Config c, String key) {
        if (!c.hasPathOrNull(key) || c.getIsNull(key)) {
            return null;
        }
        if (c.getValue(key).valueType() != ConfigValueType.STRING) {
            throw new IllegalArgumentException("iteris.merge." + key + " must be a path string");
        }
        return Path.of(c.getString(key));
    }
}
