package io.iteris.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Makes the paths of a config file relative to the file itself, as a user writing it expects. */
public final class ConfigPaths {
    private static final List<String> PATH_KEYS = List.of("base", "calibration", "model", "out");

    private ConfigPaths() {
    }

    public static Config resolveRelative(Config file, Path dir) {
        Config c = file;
        for (String k : PATH_KEYS) {
            String key = "iteris.merge." + k;
            if (c.hasPath(key)) {
                c = c.withValue(key, ConfigValueFactory.fromAnyRef(dir.resolve(c.getString(key)).normalize().toString()));
            }
        }
        String adaptersKey = "iteris.merge.adapters";
        if (c.hasPath(adaptersKey)) {
            List<Map<String, Object>> list = new ArrayList<>();
            for (Config a : c.getConfigList(adaptersKey)) {
                Map<String, Object> m = new LinkedHashMap<>(a.root().unwrapped());
                if (a.hasPath("path")) {
                    m.put("path", dir.resolve(a.getString("path")).normalize().toString());
                }
                list.add(m);
            }
            c = c.withValue(adaptersKey, ConfigValueFactory.fromIterable(list));
        }
        return c;
    }
}
