package io.iteris.core.linalg;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The process's OpenBLAS: one library, a kernel as new as the CPU allows, correct results, and the override honoured. */
class NativeMathTest {
    @TempDir
    Path tmp;

    @Test
    void theKernelInUseIsAsNewAsThisCpuAllows() {
        NativeMath.Info info = NativeMath.ensureReady();
        Set<String> flags = CpuLevel.cpuFlags();
        CpuLevel cpu = CpuLevel.ofFlags(flags);
        System.out.println("OpenBLAS: " + info.config() + "; kernel " + info.kernel() + " (" + info.kernelLevel() + ") on a " + cpu
                + " CPU, " + info.threads() + " threads");
        assertTrue(info.config().startsWith("OpenBLAS 0.3."), info.config());
        assertTrue(info.kernelLevel().compareTo(cpu.leastKernel()) >= 0, "OpenBLAS runs its " + info.kernel() + " kernel ("
                + info.kernelLevel() + ") on a CPU with " + cpu + ": at least " + cpu.leastKernel() + " is expected");
    }

    @Test
    void theSelfCheckPassesOnTheLibraryInUse() {
        NativeMath.ensureReady();
        assertNull(NativeMath.selfCheck());
    }

    /** The check the self-check applies to every product catches one entry off by 1e-3, and passes the exact product. */
    @Test
    void freivaldsCheckCatchesAWrongEntry() {
        java.util.Random r = new java.util.Random(5);
        int m = 37, n = 29, k = 53;
        double[] a = r.doubles(k * m).map(d -> d - 0.5).toArray();
        double[] b = r.doubles(k * n).map(d -> d - 0.5).toArray();
        double[] c = new double[m * n];
        for (int p = 0; p < k; p++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    c[i * n + j] += a[p * m + i] * b[p * n + j];
                }
            }
        }
        double[] v = r.doubles(n).map(d -> d - 0.5).toArray();
        assertTrue(NativeMath.productError(a, b, c, m, n, k, v) <= NativeMath.TOLERANCE, "the exact product passes");
        c[17 * n + 11] += 1e-3;
        assertTrue(NativeMath.productError(a, b, c, m, n, k, v) > NativeMath.TOLERANCE, "one entry off by 1e-3 is caught");
    }

    /** A kernel that fails the self-check is refused with its name, what failed, and the override to use. */
    @Test
    void theRefusalNamesTheKernelAndTheOverride() {
        String message = NativeMath.refusal(new NativeMath.Info("OpenBLAS 0.3.19 DYNAMIC_ARCH SkylakeX", "SkylakeX", 2),
                "dpotrf 300x300 relative error inf").getMessage();
        assertTrue(message.contains("kernel SkylakeX") && message.contains("dpotrf 300x300") && message.contains("OPENBLAS_CORETYPE=Haswell"), message);
    }

    @Test
    void levelsOfKernelsAndFlags() {
        assertEquals(CpuLevel.AVX512, CpuLevel.ofKernel("Cooperlake"));
        assertEquals(CpuLevel.AVX2, CpuLevel.ofKernel("Haswell"));
        assertEquals(CpuLevel.SSE, CpuLevel.ofKernel("Prescott"));
        assertEquals(CpuLevel.GENERIC, CpuLevel.ofKernel("SomethingNew"));
        assertEquals(CpuLevel.AVX512, CpuLevel.ofFlags(Set.of("sse2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl")));
        assertEquals(CpuLevel.AVX2, CpuLevel.ofFlags(Set.of("sse2", "avx", "avx2", "fma", "avx512f")));
        assertEquals(CpuLevel.AVX, CpuLevel.ofFlags(Set.of("sse2", "avx")));
        assertEquals(CpuLevel.AVX2, CpuLevel.AVX512.leastKernel());
        assertEquals(CpuLevel.AVX, CpuLevel.AVX.leastKernel());
    }

    /**
     * A fresh JVM on an empty JavaCPP cache started as iteris's entry points start maps one OpenBLAS library, though
     * ND4J and iteris both use it; so does a later start on that cache in which ND4J loads it before iteris is involved.
     */
    @Test
    void oneOpenBlasLibraryInTheProcess() throws Exception {
        Path cache = tmp.resolve("javacpp");
        for (String order : List.of("iteris-first", "nd4j-first")) {
            String out = child(cache, Map.of(), order);
            List<String> files = out.lines().filter(l -> l.startsWith("mapped ")).toList();
            assertEquals(1, files.size(), order + ": one OpenBLAS library mapped, got " + files + "\n" + out);
            assertTrue(out.contains("nd4j+blas agree"), out);
        }
    }

    /** OPENBLAS_CORETYPE, the documented override, is what OpenBLAS runs, and passes the self-check. */
    @Test
    void theHaswellOverrideIsHonouredAndCorrect() throws Exception {
        CpuLevel cpu = CpuLevel.ofFlags(CpuLevel.cpuFlags());
        org.junit.jupiter.api.Assumptions.assumeTrue(cpu.compareTo(CpuLevel.AVX2) >= 0,
                "theHaswellOverrideIsHonouredAndCorrect skipped: this CPU (" + cpu + ") has no AVX2 for the Haswell kernel");
        String out = child(tmp.resolve("javacpp"), Map.of("OPENBLAS_CORETYPE", "Haswell"), "iteris-first");
        assertTrue(out.contains("kernel Haswell"), out);
    }

    /** Runs {@link NativeMathProbe} in its own JVM on the given JavaCPP cache and environment; its output. */
    private static String child(Path cache, Map<String, String> env, String order) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xss16m", "-Xmx512m",
                "-Dorg.bytedeco.javacpp.cachedir=" + cache, "-cp", System.getProperty("java.class.path"), NativeMathProbe.class.getName(), order));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("OPENBLAS_CORETYPE");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the probe did not end:\n" + out);
        }
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** The launchers' thread policy: added to a child's environment, a user's own value kept; the tests run under it. */
    @Test
    void theThreadPolicyIsAddedWithoutOverridingTheUser() {
        Map<String, String> env = new java.util.HashMap<>();
        NativeMath.applyThreadPolicy(env);
        assertEquals("PASSIVE", env.get("OMP_WAIT_POLICY"));
        Map<String, String> mine = new java.util.HashMap<>(Map.of("OMP_WAIT_POLICY", "ACTIVE"));
        NativeMath.applyThreadPolicy(mine);
        assertEquals("ACTIVE", mine.get("OMP_WAIT_POLICY"));
        assertTrue(NativeMath.underThreadPolicy(), "surefire starts the tests under the launchers' policy (pom.xml)");
    }

    /** In this process too, ND4J's product (its own call into OpenBLAS) and iteris's agree. */
    @Test
    void nd4jProductsAgreeWithBlasInProcess() {
        var a = Nd4j.rand(DataType.DOUBLE, 130, 70);
        var b = Nd4j.rand(DataType.DOUBLE, 70, 90);
        assertTrue(Matrices.relativeError(a.mmul(b), Blas.mmul(a, b)) < 1e-13);
    }
}
