package io.iteris.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A shipped merge config says its hyper-parameters were chosen on the validation split by the quality benchmark:
 * every method it sets must carry exactly the values of the last measured table in the doc it names (IterIS's
 * {@code iterations} being the table's solves).
 */
class ShippedConfigsTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @ParameterizedTest
    @CsvSource({"examples/fashion/merge.conf, docs/quality.md", "examples/text/merge.conf, docs/quality-text.md"})
    void theShippedConfigCarriesTheLastMeasuredChoices(String conf, String doc) throws IOException {
        String text = Files.readString(ROOT.resolve(conf));
        assertTrue(text.contains(doc), conf + " names the doc its values come from (" + doc + ")");
        Config methods = ConfigFactory.parseString(text).getConfig("iteris.methods");
        Map<String, Map<String, String>> chosen = chosen(Files.readAllLines(ROOT.resolve(doc)));
        assertFalse(methods.root().isEmpty());
        for (String method : methods.root().keySet()) {
            Map<String, String> want = chosen.get(method);
            assertNotNull(want, doc + " has no chosen parameters for " + method);
            Map<String, String> got = new HashMap<>();
            for (Map.Entry<String, ConfigValue> e : methods.getConfig(method).entrySet()) {
                got.put(e.getKey(), String.valueOf(e.getValue().unwrapped()));
            }
            assertEquals(want.keySet(), got.keySet(), conf + ", " + method + ": the keys of " + doc + "'s table");
            for (String k : want.keySet()) {
                assertTrue(same(want.get(k), got.get(k)), conf + ", " + method + "." + k + " = " + got.get(k) + " but " + doc
                        + " chose " + want.get(k));
            }
        }
    }

    /** The rows of the "Hyper-parameters, chosen on the validation split" table: method → {key → value}. */
    private static Map<String, Map<String, String>> chosen(List<String> lines) {
        Map<String, Map<String, String>> out = new HashMap<>();
        boolean in = false;
        for (String line : lines) {
            if (line.startsWith("## ")) {
                in = line.startsWith("## Hyper-parameters, chosen on the validation split");
                continue;
            }
            if (!in || !line.startsWith("| ") || line.startsWith("| method") || !line.contains("{")) {
                continue;
            }
            String[] cells = line.split("\\|");
            String method = cells[1].trim();
            String params = cells[2].trim();
            Map<String, String> p = new HashMap<>();
            String body = params.substring(params.indexOf('{') + 1, params.indexOf('}'));
            for (String kv : body.isEmpty() ? new String[0] : body.split(", ")) {
                String[] pair = kv.split("=", 2);
                p.put(pair[0].trim(), pair[1].trim());
            }
            int solves = params.indexOf("solves ");
            if (solves >= 0) {
                p.put("iterations", params.substring(solves + "solves ".length()).trim());
            }
            p.remove("seed");
            out.put(method, p);
        }
        return out;
    }

    private static boolean same(String a, String b) {
        try {
            return Double.parseDouble(a) == Double.parseDouble(b);
        } catch (NumberFormatException e) {
            return a.equals(b);
        }
    }
}
