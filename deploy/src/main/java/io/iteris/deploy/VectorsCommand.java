package io.iteris.deploy;

import io.iteris.actors.client.ActorEngine;
import io.iteris.actors.node.IterisNode;
import io.iteris.core.engine.MergeEngine;
import io.iteris.core.vectors.VectorSuite;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code iteris vectors DIR --out OUT}: compute every golden case from its inputs, then check it. */
@Command(name = "vectors", mixinStandardHelpOptions = true,
        description = "Compute every case in DIR from its input files, write results under --out, then compare with the expected files.")
public final class VectorsCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "directory of cases (layer_*/case.json, e2e_*/e2e.json)")
    Path dir;

    @Option(names = "--out", required = true, description = "where results go: OUT/<case>/...")
    Path out;

    @Mixin
    EngineOptions engine = new EngineOptions();

    @Override
    public Integer call() {
        if (engine.local()) {
            return run(MergeEngine.LOCAL);
        }
        try (IterisNode node = engine.start("vectors-" + ActorEngine.newJobId())) {
            return run(new ActorEngine(node));
        }
    }

    private int run(MergeEngine mergeEngine) {
        long t0 = System.nanoTime();
        List<Path> cases = VectorSuite.cases(dir);
        int failed = 0;
        System.out.printf("%-28s %8s  %-40s %10s %9s %7s%n", "case", "compared", "worst key", "rel error", "tolerance", "result");
        for (Path c : cases) {
            VectorSuite.CaseCheck r = VectorSuite.run(c, out, mergeEngine);
            String verdict = !r.hasExpected() ? "computed" : r.passed() ? "ok" : "FAIL";
            if (!r.passed()) {
                failed++;
            }
            System.out.printf("%-28s %8d  %-40s %10.3e %9.1e %7s%n", r.name(), r.compared(),
                    r.worstKey() == null ? "-" : r.worstKey(), r.worstError(), r.tolerance(), verdict);
            r.failures().forEach(f -> System.out.println("  over tolerance: " + f));
            if (!r.missing().isEmpty()) {
                System.out.println("  missing results: " + r.missing());
            }
        }
        System.out.printf("%d cases, %d failed, %.1f s on the %s engine; results in %s%n", cases.size(), failed,
                (System.nanoTime() - t0) / 1e9, engine.local() ? "local" : "actor", out);
        return failed == 0 ? 0 : 1;
    }
}
