package io.iteris.core.linalg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * x86-64 vector instruction-set levels, of a CPU (from its flags) and of an OpenBLAS kernel (from its name), so that a
 * kernel older than the CPU it runs on is caught: a generic or SSE kernel on an AVX2 machine runs at a fraction of it.
 */
public enum CpuLevel {
    GENERIC, SSE, AVX, AVX2, AVX512;

    /**
     * The level an OpenBLAS kernel is written for, by the names {@code openblas_get_corename} returns (lower case in
     * OpenBLAS's DYNAMIC_ARCH table). Zen uses OpenBLAS's Haswell kernels; Excavator is counted as AVX: its kernels
     * are the Bulldozer family's. An unknown name is GENERIC, so an unrecognised kernel is never taken as fast.
     */
    public static CpuLevel ofKernel(String coreName) {
        return switch (coreName.trim().toLowerCase(Locale.ROOT)) {
            case "skylakex", "cooperlake", "sapphirerapids" -> AVX512;
            case "haswell", "zen" -> AVX2;
            case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator" -> AVX;
            case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "opteron", "opteron_sse3", "barcelona",
                 "bobcat", "nano", "katmai", "coppermine", "northwood", "athlon", "banias", "yonah" -> SSE;
            default -> GENERIC;
        };
    }

    /** The level a CPU's flags (as in /proc/cpuinfo) support. */
    public static CpuLevel ofFlags(Set<String> flags) {
        if (flags.containsAll(Set.of("avx512f", "avx512dq", "avx512bw", "avx512vl"))) {
            return AVX512;
        }
        if (flags.containsAll(Set.of("avx2", "fma"))) {
            return AVX2;
        }
        if (flags.contains("avx")) {
            return AVX;
        }
        return flags.contains("sse2") ? SSE : GENERIC;
    }

    /** This machine's CPU flags, from the first processor in /proc/cpuinfo; empty where there is none. */
    public static Set<String> cpuFlags() {
        try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> Arrays.stream(l.substring(l.indexOf(':') + 1).trim().split("\\s+")).collect(Collectors.toUnmodifiableSet()))
                    .orElse(Set.of());
        } catch (IOException e) {
            return Set.of();
        }
    }

    /**
     * The least kernel level acceptable on a CPU of this level: its own, capped at AVX2. An AVX2 kernel on an AVX-512
     * CPU is allowed, because it is the documented override where an AVX-512 kernel computes wrong results.
     */
    public CpuLevel leastKernel() {
        return compareTo(AVX2) > 0 ? AVX2 : this;
    }
}
