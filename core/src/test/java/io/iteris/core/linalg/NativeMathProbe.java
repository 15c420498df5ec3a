package io.iteris.core.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link NativeMathTest}'s child process. With {@code iteris-first} it starts as iteris's entry points do
 * ({@link NativeMath#ensureReady} first, then ND4J); with {@code nd4j-first}, ND4J computes before iteris is involved.
 * Prints the kernel, whether ND4J's product and iteris's agree, and each OpenBLAS file mapped.
 */
public final class NativeMathProbe {
    private NativeMathProbe() {
    }

    public static void main(String[] args) {
        boolean iterisFirst = args[0].equals("iteris-first");
        if (iterisFirst) {
            NativeMath.ensureReady();
        }
        var a = Nd4j.rand(DataType.DOUBLE, 200, 150);
        var b = Nd4j.rand(DataType.DOUBLE, 150, 120);
        var viaNd4j = a.mmul(b);
        NativeMath.Info info = NativeMath.ensureReady();
        double err = Matrices.relativeError(Blas.mmul(a, b), viaNd4j);
        System.out.println("kernel " + info.kernel());
        System.out.println(err < 1e-13 ? "nd4j+blas agree" : "nd4j+blas differ: " + err);
        NativeMath.mappedOpenBlasFiles().forEach(f -> System.out.println("mapped " + f));
    }
}
