package io.iteris.core.demo;

import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.safetensors.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The tiny shipped example is exactly what its generator makes with seed 7. */
class DemoExampleTest {
    static final Path SHIPPED = Path.of("..", "examples", "demo").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    @Test
    void regeneratingGivesTheShippedTensors() {
        DemoExample.generate(tmp, 7);
        for (String f : List.of("base/model.safetensors", "calibration.safetensors", "heldout.safetensors",
                "adapters/shift/adapter_model.safetensors", "adapters/swirl/adapter_model.safetensors",
                "adapters/spread/adapter_model.safetensors")) {
            SafetensorsFile made = SafetensorsFile.open(tmp.resolve(f));
            SafetensorsFile shipped = SafetensorsFile.open(SHIPPED.resolve(f));
            assertEquals(shipped.names(), made.names(), f);
            for (String n : shipped.names()) {
                assertArrayEquals(shipped.readDoubles(n), made.readDoubles(n), f + " " + n);
            }
        }
        for (String task : DemoExample.TASKS) {
            PeftAdapter a = PeftAdapter.load(tmp.resolve("adapters").resolve(task));
            PeftAdapter b = PeftAdapter.load(SHIPPED.resolve("adapters").resolve(task));
            assertEquals(b.config().r(), a.config().r());
            assertEquals(b.config().loraAlpha(), a.config().loraAlpha());
            assertEquals(b.config().targetModules(), a.config().targetModules());
        }
    }
}
