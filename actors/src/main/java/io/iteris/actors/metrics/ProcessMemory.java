package io.iteris.actors.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A process's memory as Linux reports it in {@code /proc/<pid>/status}: for the node agents and the benchmarks. */
public final class ProcessMemory {
    private ProcessMemory() {
    }

    /**
     * A field of {@code /proc/<pid>/status} in bytes: VmRSS (resident now), VmHWM (peak resident), RssAnon (heap,
     * off-heap buffers, native allocations), RssFile (mapped files). -1 where there is no such file or field.
     *
     * @param pid a process id, or "self"
     */
    public static long bytes(String pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
