package io.iteris.core.linalg;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_full;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The process's native math library, OpenBLAS, set up once before anything computes with it: one library instance
 * shared by ND4J, {@link Blas} and {@link Lapack}, and a self-check that refuses a kernel computing wrong numbers.
 * <p>
 * One instance: JavaCPP's OpenBLAS presets load {@code libopenblas.so.0} for LAPACK and a byte copy of it,
 * {@code libopenblas_nolapack.so.0}, for BLAS. Two copies are two libraries to the dynamic loader: two thread pools
 * spinning against each other and against ND4J's OpenMP threads, and ND4J bound to whichever loaded first. Making the
 * copy in JavaCPP's cache a symbolic link to the original lets the loader see one file, so every caller shares one
 * instance. JavaCPP keeps the link: it compares size and time, which the link takes from its target, and replaces a
 * cached file only by deleting it first. Every entry point runs this before ND4J loads (the command line's main, and
 * the first use of {@link Blas} or {@link Lapack}); a process whose ND4J loaded first on a fresh cache keeps its two
 * copies, and the link it leaves in the cache gives every later start one.
 * <p>
 * Self-check: OpenBLAS picks its kernel from the CPU at load time, and an old OpenBLAS was seen to pick kernels that
 * compute wrong products or factorisations on current CPUs. A few small products, a Cholesky and a solve, each through
 * the blocked and multi-threaded paths, are compared with plain Java; a wrong kernel stops the process with the kernel's
 * name and the override to use ({@code OPENBLAS_CORETYPE}, read by OpenBLAS when it loads).
 */
public final class NativeMath {
    /** What the native math runs on: OpenBLAS's own description, its kernel, and its thread count. */
    public record Info(String config, String kernel, int threads) {
        /** The instruction-set level of the kernel in use. */
        public CpuLevel kernelLevel() {
            return CpuLevel.ofKernel(kernel);
        }
    }

    /**
     * The thread policy for native math, as environment variables every launcher sets before the JVM starts (libgomp
     * reads them when it loads; Java cannot set them for its own process): ND4J's OpenMP threads wait passively between
     * operations instead of spinning, so they do not take the cores OpenBLAS's threads need for the next product or
     * factorisation. Measured: a later solve at in = 1024, 4 tasks, 75 → 47 ms (docs/performance.md, Native math).
     * OpenBLAS keeps one thread per core; its idle threads already sleep after a short spin.
     */
    public static final Map<String, String> THREAD_POLICY = Map.of("OMP_WAIT_POLICY", "PASSIVE");

    /** Adds the {@link #THREAD_POLICY} to a child process's environment, leaving any value the user chose. */
    public static void applyThreadPolicy(Map<String, String> environment) {
        THREAD_POLICY.forEach(environment::putIfAbsent);
    }

    /** Whether this process runs under the {@link #THREAD_POLICY} (the variables as the policy sets them). */
    public static boolean underThreadPolicy() {
        return THREAD_POLICY.entrySet().stream().allMatch(e -> e.getValue().equalsIgnoreCase(String.valueOf(System.getenv(e.getKey()))));
    }

    /** Largest relative error the self-check accepts: far above float64 rounding on these sizes, far below a wrong kernel. */
    static final double TOLERANCE = 1e-10;

    private static volatile Info info;

    private NativeMath() {
    }

    /**
     * Sets up and checks the native math once per process; later calls return at once. Throws
     * {@link IllegalStateException} naming the kernel when it computes wrong results.
     */
    public static Info ensureReady() {
        Info i = info;
        if (i != null) {
            return i;
        }
        synchronized (NativeMath.class) {
            if (info == null) {
                linkOneLibrary();
                Info loaded = new Info(openblas_full.openblas_get_config().getString().trim(),
                        openblas_full.openblas_get_corename().getString().trim(), openblas_full.openblas_get_num_threads());
                String wrong = selfCheck();
                if (wrong != null) {
                    throw refusal(loaded, wrong);
                }
                info = loaded;
            }
            return info;
        }
    }

    /** The error that stops a process whose kernel failed the self-check: the kernel, what failed, and the override. */
    static IllegalStateException refusal(Info loaded, String wrong) {
        return new IllegalStateException("OpenBLAS kernel " + loaded.kernel() + " (" + loaded.config() + ") computes wrong results on this CPU: "
                + wrong + ". Start iteris with a kernel that is correct here, e.g. OPENBLAS_CORETYPE=Haswell (docs/performance.md, Native math)");
    }

    /**
     * Replaces JavaCPP's cached copy {@code libopenblas_nolapack.so.0} with a link to {@code libopenblas.so.0}, under
     * the cache lock JavaCPP itself takes, by an atomic rename so that no other process sees the name missing.
     */
    private static void linkOneLibrary() {
        String dir = "org/bytedeco/openblas/" + Loader.getPlatform() + "/";
        URL lib = NativeMath.class.getClassLoader().getResource(dir + "libopenblas.so.0");
        if (lib == null) {
            return; // not Linux, or an OpenBLAS from elsewhere (org.bytedeco.openblas.load): nothing is copied
        }
        try {
            File original = Loader.cacheResource(lib);
            if (original == null) {
                return; // loaded in place, not from a cache: nothing to link
            }
            Path alias = original.toPath().resolveSibling("libopenblas_nolapack.so.0");
            if (Files.isSymbolicLink(alias)) {
                return;
            }
            synchronized (Runtime.getRuntime()) {
                try (FileChannel lockChannel = new FileOutputStream(new File(Loader.getCacheDir(), ".lock")).getChannel();
                     FileLock ignored = lockChannel.lock()) {
                    if (!Files.isSymbolicLink(alias)) {
                        Path link = alias.resolveSibling(alias.getFileName() + ".link-" + ProcessHandle.current().pid());
                        Files.deleteIfExists(link);
                        Files.createSymbolicLink(link, original.toPath().getFileName());
                        Files.move(link, alias, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } catch (IOException | UnsupportedOperationException e) {
            // A read-only or link-less cache still computes correctly, with two instances: say so, do not stop.
            org.slf4j.LoggerFactory.getLogger(NativeMath.class).warn("could not link OpenBLAS's two cached copies into one library ({}); "
                    + "BLAS and LAPACK run on separate thread pools", e.toString());
        }
    }

    /**
     * The OpenBLAS library files mapped into this process (Linux), one per library instance, for tests and benches; a
     * file replaced since it was mapped keeps the kernel's " (deleted)" mark.
     */
    public static java.util.List<String> mappedOpenBlasFiles() {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.map(l -> l.split("\\s+", 6)).filter(f -> f.length == 6)
                    .map(f -> f[5].trim()).filter(p -> p.matches(".*/libopenblas[^/]*\\.so[.0-9]*( \\(deleted\\))?"))
                    .distinct().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Null when every check agrees with plain Java; otherwise what failed and by how much. Each check costs O(n²) in
     * Java (a product with a random vector, Freivalds' way), so that it takes milliseconds while the JIT is still cold.
     */
    static String selfCheck() {
        Random r = new Random(20261203);
        // Shapes: one below OpenBLAS's small-matrix and threading thresholds, one blocked, one threaded.
        int[][] gemms = {{13, 9, 11}, {97, 83, 211}, {256, 240, 300}};
        for (int[] s : gemms) {
            double err = gemmError(s[0], s[1], s[2], r);
            if (!(err <= TOLERANCE)) {
                return String.format(Locale.ROOT, "dgemm %dx%dx%d relative error %.3g", s[0], s[1], s[2], err);
            }
        }
        for (int n : new int[]{48, 300}) {
            double err = choleskyError(n, r);
            if (!(err <= TOLERANCE)) {
                return String.format(Locale.ROOT, "dpotrf %dx%d relative error %.3g", n, n, err);
            }
            err = solveError(n, 7, r);
            if (!(err <= TOLERANCE)) {
                return String.format(Locale.ROOT, "dposv %dx%d relative residual %.3g", n, n, err);
            }
        }
        return null;
    }

    /** C = AᵀB of row-major A [k×m] and B [k×n] by dgemm, checked by {@link #productError}. */
    private static double gemmError(int m, int n, int k, Random r) {
        double[] a = gaussian(k * m, r);
        double[] b = gaussian(k * n, r);
        double[] c = new double[m * n];
        openblas_full.cblas_dgemm(openblas_full.CblasRowMajor, openblas_full.CblasTrans, openblas_full.CblasNoTrans, m, n, k,
                1.0, a, m, b, n, 0.0, c, n);
        return productError(a, b, c, m, n, k, gaussian(n, r));
    }

    /**
     * How far C [m×n] is from AᵀB (A [k×m], B [k×n], row-major), by Freivalds' product with v: ‖Cv − Aᵀ(Bv)‖ over
     * ‖|A|ᵀ(|B||v|)‖, the size rounding scales with. O(k(m + n) + mn), where the product itself is O(kmn).
     */
    static double productError(double[] a, double[] b, double[] c, int m, int n, int k, double[] v) {
        double[] scale = times(abs(a), k, m, times(abs(b), k, n, abs(v), false), true);
        return distance(times(c, m, n, v, false), times(a, k, m, times(b, k, n, v, false), true)) / norm(scale);
    }

    /** A = LLᵀ by dpotrf on a random SPD matrix; ‖L(Lᵀv) − Av‖ / ‖Av‖ for a random v. */
    private static double choleskyError(int n, Random r) {
        double[] a = spd(n, r);
        double[] l = a.clone();
        if (openblas_full.LAPACKE_dpotrf(openblas_full.LAPACK_ROW_MAJOR, (byte) 'L', n, l, n) != 0) {
            return Double.POSITIVE_INFINITY; // a positive definite matrix refused: as wrong as a wrong factor
        }
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                l[i * n + j] = 0; // dpotrf leaves the upper triangle as it found it
            }
        }
        double[] v = gaussian(n, r);
        return relative(times(l, n, n, times(l, n, n, v, true), false), times(a, n, n, v, false));
    }

    /** AX = B by dposv; the residual ‖AX − B‖ / (‖A‖‖X‖) in Java. */
    private static double solveError(int n, int nrhs, Random r) {
        double[] a = spd(n, r);
        double[] b = gaussian(n * nrhs, r);
        double[] x = b.clone();
        if (openblas_full.LAPACKE_dposv(openblas_full.LAPACK_ROW_MAJOR, (byte) 'U', n, nrhs, a.clone(), n, x, nrhs) != 0) {
            return Double.POSITIVE_INFINITY;
        }
        double[] ax = new double[n * nrhs];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < n; p++) {
                double aip = a[i * n + p];
                for (int j = 0; j < nrhs; j++) {
                    ax[i * nrhs + j] += aip * x[p * nrhs + j];
                }
            }
        }
        return distance(ax, b) / (norm(a) * norm(x));
    }

    /** M v (or Mᵀ v) of a row-major [rows×cols] matrix. */
    private static double[] times(double[] mat, int rows, int cols, double[] v, boolean transpose) {
        double[] out = new double[transpose ? cols : rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                if (transpose) {
                    out[j] += mat[i * cols + j] * v[i];
                } else {
                    out[i] += mat[i * cols + j] * v[j];
                }
            }
        }
        return out;
    }

    private static double[] abs(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.abs(v[i]);
        }
        return out;
    }

    /** I + a random symmetric matrix of norm at most 1/2 (entries ±0.5/n): well conditioned, built in O(n²). */
    private static double[] spd(int n, Random r) {
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            a[i * n + i] = 1 + r.nextDouble();
            for (int j = 0; j < i; j++) {
                double v = (r.nextDouble() - 0.5) / n;
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        return a;
    }

    private static double[] gaussian(int size, Random r) {
        double[] v = new double[size];
        for (int i = 0; i < size; i++) {
            v[i] = r.nextGaussian();
        }
        return v;
    }

    private static double relative(double[] got, double[] want) {
        return distance(got, want) / norm(want);
    }

    private static double distance(double[] x, double[] y) {
        double d = 0;
        for (int i = 0; i < x.length; i++) {
            d += (x[i] - y[i]) * (x[i] - y[i]);
        }
        return Math.sqrt(d);
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x * x;
        }
        return Math.sqrt(s);
    }
}
