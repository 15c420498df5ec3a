package io.iteris.core.model.onnx;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Devices as the command line names them, and where each worker of a node runs. The CUDA provider itself is not in
 * this (CPU) build, so only its refusal is tested here: no GPU was lent to run the CUDA path.
 */
class DeviceTest {
    @Test
    void cudaAloneGivesEachWorkerItsOwnGpuAndCudaNPinsThemAll() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.CPU, Device.CPU.forWorker(3));
        Device all = Device.parse("cuda");
        assertEquals("cuda", all.toString());
        assertEquals("cuda:0", all.forWorker(0).toString());
        assertEquals("cuda:2", all.forWorker(2).toString());
        assertEquals("cuda:1", Device.parse("cuda:1").forWorker(5).toString());
        assertThrows(IllegalArgumentException.class, () -> Device.parse("gpu"));
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:x"));
    }

    @Test
    void theCpuBuildRefusesCudaWithTheReasonAndNeverFallsBack() {
        assertEquals(Device.CPU, Device.CPU.check());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:0").check());
        assertTrue(e.getMessage().contains("no CUDA execution provider") && e.getMessage().contains("-Pgpu"), e.getMessage());
    }

    @Test
    void theGramIsMultipliedInTheSessionOnCudaUnlessSaidOtherwise() {
        assertTrue(Device.parse("cuda:0").gramOnDevice());
        assertTrue(Device.parse("cuda").forWorker(1).gramOnDevice(), "a worker's device keeps the setting");
        assertTrue(!Device.CPU.gramOnDevice());
        assertTrue(Device.CPU.withGram(Device.Gram.parse("device")).gramOnDevice());
        assertTrue(!Device.parse("cuda:0").withGram(Device.Gram.parse("HOST")).gramOnDevice());
        assertThrows(IllegalArgumentException.class, () -> Device.Gram.parse("gpu"));
    }

    @Test
    void gpusAreCountedFromCudaVisibleDevicesOrTheDriver(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        assertEquals(3, Device.gpuCount("0,1,2", tmp));
        assertEquals(1, Device.gpuCount("GPU-5a1c", tmp), "a UUID names one GPU");
        assertEquals(2, Device.gpuCount("0,2,-1,3", tmp), "CUDA stops at the first invalid entry");
        assertEquals(0, Device.gpuCount("", tmp), "an empty list hides every GPU");
        assertEquals(0, Device.gpuCount(null, tmp.resolve("absent")), "no driver");
        for (String bus : new String[]{"0000:17:00.0", "0000:65:00.0"}) {
            java.nio.file.Files.createDirectories(tmp.resolve("gpus").resolve(bus));
        }
        assertEquals(2, Device.gpuCount(null, tmp.resolve("gpus")));
        assertEquals(2, Device.CPU.defaultWorkers(2), "CPU nodes keep their worker count");
        assertEquals(1, Device.parse("cuda:3").defaultWorkers(2), "one pinned GPU: one worker");
    }
}
