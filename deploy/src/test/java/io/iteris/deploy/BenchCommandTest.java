package io.iteris.deploy;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every speed benchmark runs end to end at toy sizes and writes a CSV whose ratios are measured numbers. */
class BenchCommandTest {
    @TempDir
    Path tmp;

    @org.junit.jupiter.api.Test
    void theLlmScaleBenchMergesAnExternalDataModelOnThreeNodesAndReportsTheirMemory() throws Exception {
        Path csv = tmp.resolve("llm.csv");
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        assertEquals(0, cl.execute("bench", "scale", "--llm", "--quick", "--csv", csv.toString(), "--out", tmp.resolve("llm").toString()), err.toString());
        List<String> lines = Files.readAllLines(csv);
        assertEquals(List.of("node", "peak_rss_mib", "peak_anon_mib", "peak_file_mib", "model_mib", "anon_over_model"), List.of(lines.get(0).split(",")));
        assertEquals(4, lines.size(), "a row per node: " + lines);
        for (String row : lines.subList(1, lines.size())) {
            String[] cells = row.split(",");
            assertTrue(Double.parseDouble(cells[1]) > 0 && Double.parseDouble(cells[2]) > 0, row);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"solve", "gram", "stream", "engine", "scale", "soak", "transfer", "inference"})
    void runsAndWritesItsTable(String which) throws Exception {
        Path csv = tmp.resolve(which + ".csv");
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute("bench", which, "--quick", "--csv", csv.toString(), "--out", tmp.resolve("work").toString(),
                "--example", Path.of("..", "examples", "fashion").toAbsolutePath().normalize().toString());
        assertEquals(0, code, err.toString());
        List<String> lines = Files.readAllLines(csv);
        assertTrue(lines.size() >= 2, "a header and rows: " + lines);
        List<String> header = List.of(lines.get(0).split(","));
        if (which.equals("solve")) {
            assertEquals(List.of("in", "out", "tasks", "rank", "median_ms", "reference_ms", "ratio", "dpotrf_gflops", "numpy_ms"), header);
        }
        if (which.equals("gram")) {
            assertEquals(List.of("in", "rows", "features", "ours_ms", "dgemm_ms", "ratio", "dgemm_gflops", "numpy_ms", "dgemm_vs_numpy"), header);
        }
        for (String row : lines.subList(1, lines.size())) {
            String[] cells = row.split(",");
            assertEquals(header.size(), cells.length, row);
            if (header.contains("ratio")) {
                double ratio = Double.parseDouble(cells[header.indexOf("ratio")]);
                assertTrue(ratio > 0 && Double.isFinite(ratio), row);
            }
            for (String rate : List.of("dpotrf_gflops", "dgemm_gflops")) {
                if (header.contains(rate)) {
                    // an absolute rate against the machine, not only a ratio against ourselves (numpy's column may be NaN where
                    // python3 or numpy is missing)
                    double gflops = Double.parseDouble(cells[header.indexOf(rate)]);
                    assertTrue(gflops > 0 && Double.isFinite(gflops), row);
                }
            }
            if (which.equals("inference")) {
                for (String ratio : List.of("capture_ratio", "host_ratio", "session_ratio")) {
                    double r = Double.parseDouble(cells[header.indexOf(ratio)]);
                    assertTrue(r > 0 && Double.isFinite(r), ratio + ": " + row);
                }
            }
            if (which.equals("soak")) {
                assertTrue(Double.parseDouble(cells[header.indexOf("heap_after_gc_mib")]) > 0, row);
                assertTrue(Double.parseDouble(cells[header.indexOf("rss_mib")]) > 0, row);
            }
            if (which.equals("transfer")) {
                // with the Gram in the session only C and H come out: 2 · 2 layers · 16 in² bytes, here for 32 sequences in one batch
                int in = Integer.parseInt(cells[header.indexOf("in")]);
                assertEquals(2 * 2 * 8.0 * in * in / 1e6, Double.parseDouble(cells[header.indexOf("device_out_mb")]), 1e-4, row);
            }
            if (which.equals("scale")) {
                // the statistics the workers report having sent are exactly what the formula predicts
                assertEquals(Double.parseDouble(cells[header.indexOf("predicted_mib")]),
                        Double.parseDouble(cells[header.indexOf("bytes_moved_mib")]), 1e-9, row);
            }
        }
    }
}
