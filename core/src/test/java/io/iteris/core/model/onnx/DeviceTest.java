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
}
