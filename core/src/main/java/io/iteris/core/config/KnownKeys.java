package io.iteris.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

import java.util.Set;
import java.util.TreeSet;

/**
 * Rejects settings iteris does not know, so a typo ({@code alpha1} for {@code alpha_1}) is an error with a
 * suggestion instead of a silently ignored line.
 */
final class KnownKeys {
    private static final Set<String> ADAPTER_KEYS = Set.of("name", "path", "manual_coef");

    private KnownKeys() {
    }

    static void check(Config root) {
        Config reference = ConfigFactory.defaultReference();
        // root().keySet() also lists keys whose default is null (base, out, ...), which entrySet() skips
        checkLevel(root, reference, "iteris.merge");
        checkLevel(root, reference, "iteris.methods");
        for (String method : root.getConfig("iteris.methods").root().keySet()) {
            checkLevel(root, reference, "iteris.methods." + method);
        }
        if (root.hasPath("iteris.merge.adapters")) {
            int i = 0;
            for (Config a : root.getConfigList("iteris.merge.adapters")) {
                for (var e : a.entrySet()) {
                    if (!ADAPTER_KEYS.contains(e.getKey())) {
                        throw new IllegalArgumentException("unknown setting iteris.merge.adapters[" + i + "]." + e.getKey()
                                + suggestion(e.getKey(), new TreeSet<>(ADAPTER_KEYS), "iteris.merge.adapters[" + i + "]"));
                    }
                }
                i++;
            }
        }
    }

    private static void checkLevel(Config root, Config reference, String section) {
        if (!root.hasPath(section) || !reference.hasPath(section)) {
            return;
        }
        Set<String> known = new TreeSet<>(reference.getConfig(section).root().keySet());
        for (String key : root.getConfig(section).root().keySet()) {
            if (!known.contains(key)) {
                throw new IllegalArgumentException("unknown setting " + section + "." + key + suggestion(key, known, section));
            }
        }
    }

    private static String suggestion(String key, Set<String> known, String section) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(key, k);
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return best != null && bestDistance <= Math.max(2, key.length() / 3) ? "; did you mean " + section + "." + best + "?" : "";
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
