package io.iteris.bench.perf;

import io.iteris.core.linalg.CpuLevel;
import io.iteris.core.linalg.NativeMath;

import java.io.PrintStream;
import java.nio.file.Path;

/** Runs one speed benchmark, prints its table, and writes the CSV when asked. */
public final class Benchmarks {
    /** What the command line chose; null arrays mean the defaults. */
    public record Options(boolean quick, int[] dims, int[] tasks, int layers, int width, String nodeHeap, Path example, Path workDir,
                          Path csv, Integer jobs, boolean llm, int rank, int projections, String device) {
    }

    private Benchmarks() {
    }

    /**
     * One line on the native math every BLAS-bound figure depends on: OpenBLAS's version and kernel, the CPU's level,
     * the threads, and how many OpenBLAS libraries the process holds (one, unless something loaded ND4J first).
     */
    static String nativeMath() {
        NativeMath.Info n = NativeMath.ensureReady();
        CpuLevel cpu = CpuLevel.ofFlags(CpuLevel.cpuFlags());
        int libraries = NativeMath.mappedOpenBlasFiles().size();
        return String.format("native math: %s; kernel %s (%s) on a CPU with %s; %d threads; %d OpenBLAS librar%s in the process; %s",
                n.config(), n.kernel(), n.kernelLevel(), cpu, n.threads(), libraries, libraries == 1 ? "y" : "ies",
                NativeMath.underThreadPolicy() ? "thread policy " + NativeMath.THREAD_POLICY
                        : "NOT under the thread policy " + NativeMath.THREAD_POLICY + " (start through bin/iteris, or set it)");
    }

    public static void run(String which, Options o, PrintStream log) throws Exception {
        log.printf("bench %s%s (%d cores, %s)%n", which, o.quick() ? " --quick" : "", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.arch"));
        log.println(nativeMath());
        ResultTable t = switch (which) {
            case "solve" -> SolveBench.run(o.dims() != null ? o.dims() : o.quick() ? new int[]{128, 256} : new int[]{256, 512, 1024, 2048},
                    o.tasks() != null ? o.tasks() : o.quick() ? new int[]{2, 4} : new int[]{2, 4, 8}, o.rank(), log);
            case "gram" -> GramBench.run(o.dims() != null ? o.dims() : o.quick() ? new int[]{128, 256} : new int[]{256, 512, 1024, 2048},
                    o.quick() ? 256 : 2048, log);
            case "stream" -> StreamBench.run(o.workDir(), o.quick() ? 8 : 64, o.quick() ? new int[]{256, 1024} : new int[]{256, 512, 1024, 2048, 4096},
                    o.quick() ? 1 : 3, log);
            case "engine" -> EngineBench.run(o.example(), o.workDir(), o.quick() ? 2 : 5, o.quick() ? 1 : 3, log);
            case "scale" -> o.llm() ? LlmScaleBench.run(o.quick(), o.workDir(), o.nodeHeap(), log) : ScaleBench.run(o.quick()
                    ? new ScaleBench.Plan(4, 128, 2, 4, 8, 8, 2, 2, "1g", o.projections())
                    : new ScaleBench.Plan(o.layers(), o.width(), o.tasks() != null ? o.tasks()[0] : 4, 16, 32, 16, 2, 3, o.nodeHeap(), o.projections()),
                    o.workDir(), log);
            case "transfer" -> TransferBench.run(o.dims() != null ? o.dims() : o.quick() ? new int[]{64, 128} : new int[]{256, 512, 1024},
                    o.quick() ? 32 : 256, 2, io.iteris.core.model.onnx.Device.parse(o.device()).check(), o.workDir(), log);
            case "inference" -> InferenceBench.run(InferenceBench.defaultCases(io.iteris.bench.Installation.minilm(), o.workDir(), o.quick()),
                    o.quick() ? 3 : 7, log);
            case "soak" -> SoakBench.run(o.example(), o.workDir(), o.jobs() != null ? o.jobs() : o.quick() ? 3 : 20, "1g", log);
            default -> throw new IllegalArgumentException("unknown benchmark '" + which + "'");
        };
        log.println();
        log.print(t.markdown());
        if (o.csv() != null) {
            t.writeCsv(o.csv());
            log.println("wrote " + o.csv());
        }
    }
}
