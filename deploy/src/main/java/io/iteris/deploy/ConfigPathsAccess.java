package io.iteris.deploy;

import com.typesafe.config.Config;

import java.nio.file.Path;

/** Lets the command-line helpers in sub-packages resolve a config file's relative paths the way merge does. */
public final class ConfigPathsAccess {
    private ConfigPathsAccess() {
    }

    public static Config resolveRelative(Config file, Path dir) {
        return ConfigPaths.resolveRelative(file, dir);
    }
}
