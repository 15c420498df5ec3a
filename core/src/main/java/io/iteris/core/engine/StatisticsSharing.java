package io.iteris.core.engine;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Layers that read the same input have the same statistics (G, C, H depend only on the input rows): the q, k
 * and v projections of an attention block, gate and up of a gated MLP. Each such group's statistics are
 * computed, sent and held once, under its first layer in job order (its "statistics layer"), and every layer of
 * the group is solved from them.
 */
public final class StatisticsSharing {
    private StatisticsSharing() {
    }

    /**
     * Per layer (in job order), the first layer in job order that reads the same input (itself when none does).
     *
     * @param inputOf per layer, a name of the tensor it reads (a layer missing here reads its own)
     */
    public static Map<String, String> leaders(List<String> layers, Map<String, String> inputOf) {
        Map<String, String> firstReader = new HashMap<>();
        Map<String, String> out = new LinkedHashMap<>();
        for (String layer : layers) {
            String input = inputOf.getOrDefault(layer, "layer:" + layer);
            out.put(layer, firstReader.computeIfAbsent(input, k -> layer));
        }
        return out;
    }

    /**
     * Of values per layer (captured inputs, say), those of the layers whose statistics are computed: a layer whose
     * leader is another layer is left out, since it shares that layer's.
     */
    public static <V> Map<String, V> leadersOnly(Map<String, V> byLayer, Map<String, String> leaders) {
        Map<String, V> out = new LinkedHashMap<>(byLayer);
        out.keySet().removeIf(layer -> leaders.containsKey(layer) && !leaders.get(layer).equals(layer));
        return out;
    }
}
