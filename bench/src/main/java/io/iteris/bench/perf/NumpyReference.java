package io.iteris.bench.perf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The machine's reference rate from outside iteris: the same product or factorisation timed by numpy (its own
 * OpenBLAS build) in a child process, where python3 with numpy is installed. It answers "is our BLAS as fast as the
 * best one on this machine", which a ratio against our own dgemm cannot.
 */
final class NumpyReference {
    /** Median milliseconds and numpy's description of its BLAS. */
    record Timing(double millis, String blas) {
    }

    private static final String SCRIPT = """
            import sys, time
            import numpy as np
            op, rows, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
            rng = np.random.default_rng(11)
            x = rng.standard_normal((rows, n))
            y = x + 0.1 * rng.standard_normal((rows, n))
            a = x.T @ x / rows + np.eye(n)
            def once():
                if op == "gemm":
                    x.T @ y
                else:
                    np.linalg.cholesky(a)
            once()
            ms = []
            for _ in range(reps):
                t0 = time.perf_counter(); once(); ms.append((time.perf_counter() - t0) * 1e3)
            ms.sort()
            try:
                from threadpoolctl import threadpool_info
                blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}" for i in threadpool_info() if i.get('user_api') == 'blas')
            except ImportError:
                blas = np.__config__.CONFIG["Build Dependencies"]["blas"].get("openblas configuration", "?").split()[1]
                blas = "OpenBLAS " + blas + " (kernel not reported: threadpoolctl absent)"
            print(ms[len(ms) // 2] if len(ms) % 2 else (ms[len(ms) // 2 - 1] + ms[len(ms) // 2]) / 2)
            print("numpy " + np.__version__ + ", " + blas)
            """;

    private NumpyReference() {
    }

    /** numpy's xᵀy of two [rows×n] float64 matrices, or empty where python3 or numpy is missing. */
    static Optional<Timing> gemm(int rows, int n, int reps) {
        return run("gemm", rows, n, reps);
    }

    /** numpy's Cholesky (LAPACK dpotrf on a copy) of an n×n SPD matrix, or empty where python3 or numpy is missing. */
    static Optional<Timing> cholesky(int n, int reps) {
        return run("potrf", 0, n, reps);
    }

    private static Optional<Timing> run(String op, int rows, int n, int reps) {
        try {
            Process p = new ProcessBuilder(List.of("python3", "-c", SCRIPT, op, Integer.toString(op.equals("gemm") ? rows : n), Integer.toString(n),
                    Integer.toString(reps))).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return Optional.empty();
            }
            List<String> lines = out.lines().toList();
            return Optional.of(new Timing(Double.parseDouble(lines.get(0).trim()), lines.get(1).trim()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // no python3, or no numpy: the table says so
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
