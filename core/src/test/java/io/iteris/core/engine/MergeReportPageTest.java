package io.iteris.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report page's charts can be read: numbers beside every chart, converged layers kept. */
class MergeReportPageTest {
    @TempDir
    Path tmp;

    private static final String REPORT = """
            {"method":"iteris","method_reference":"https://arxiv.org/abs/2411.15231","base":"base.safetensors",
             "adapters":[{"name":"a","path":"a","manual_coef":1,"r":2,"lora_alpha":4,"use_rslora":false},
                         {"name":"b","path":"b","manual_coef":1,"r":2,"lora_alpha":4,"use_rslora":false}],
             "output_format":"peft","precision":"fp64","parameters":{"iterations":3},
             "iterations":[{"iteration":1,"inference_ms":10,"solve_ms":5,"wall_ms":20},
                           {"iteration":2,"max_relative_change":0.25,"relative_change":{"l0":0,"l1":0.25},"inference_ms":11,"solve_ms":6,"wall_ms":21},
                           {"iteration":3,"max_relative_change":0.003,"relative_change":{"l0":0,"l1":0.003},"inference_ms":12,"solve_ms":7,"wall_ms":22}],
             "layers":{"l0":{"solver":"cholesky","omega":[0.5,0.002],"svd_energy_kept":1.0},
                       "l1":{"solver":"cholesky","omega":[0.04,3.0],"svd_energy_kept":0.875}},
             "timings_ms":{"total_ms":99}}
            """;

    @Test
    void everyChartHasItsNumbersAndAConvergedLayerStaysVisible() throws IOException {
        Path json = tmp.resolve("merge-report.json");
        Files.writeString(json, REPORT);
        Path html = tmp.resolve("report.html");
        MergeReportPage.write(json, html);
        String page = Files.readString(html);
        assertEquals(4, page.split("src=\"data:image/png;base64,").length - 1, "embedded charts");
        assertFalse(page.contains("chart not drawn"), "a chart failed");
        assertEquals(4, page.split("<table class=\"numbers\">").length - 1, "a table of numbers under each chart");
        // l0 did not change after the first solve: in the table as converged, at both solves
        assertTrue(page.contains("<tr><td>l0</td><td>converged</td><td>converged</td></tr>"), "converged layer row");
        assertTrue(page.contains("<tr><td>l1</td><td>2.50e-01</td><td>3.00e-03</td></tr>"), "changing layer row");
        assertTrue(page.contains("<tr><td>l1</td><td>4.000e-02</td><td>3.000e+00</td></tr>"), "omega row");
        assertTrue(page.contains("<tr><td>3</td><td>0.022</td><td>0.012</td><td>0.007</td></tr>"), "time row");
        assertTrue(page.contains("<tr><td>l1</td><td>0.875000</td></tr>"), "energy row");
    }

    @Test
    void aMergeWhoseEveryLayerConvergedStillDrawsTheConvergenceChart() throws IOException {
        JsonNode its = new ObjectMapper().readTree("""
                [{"iteration":2,"max_relative_change":0.1,"relative_change":{"l0":0.1,"l1":0}},
                 {"iteration":3,"max_relative_change":0,"relative_change":{"l0":0,"l1":0}}]""");
        byte[] png = MergeReportPage.sections(new ObjectMapper().createObjectNode().set("iterations", its)).get(0).png();
        assertNotNull(png, "a chart although the last solve changed nothing");
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(MergeReportPage.WIDTH, img.getWidth());
        assertTrue(MergeReportPage.changeTable(its).contains("<tr><td>l1</td><td>converged</td><td>converged</td></tr>"));
    }
}
