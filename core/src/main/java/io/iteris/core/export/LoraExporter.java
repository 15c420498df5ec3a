package io.iteris.core.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iteris.core.AtomicFiles;
import io.iteris.core.engine.MergeInputs;
import io.iteris.core.linalg.Blas;
import io.iteris.core.linalg.Lapack;
import io.iteris.core.linalg.Matrices;
import io.iteris.core.merge.LayerMergeResult;
import io.iteris.core.peft.LoraConfig;
import io.iteris.core.peft.PeftAdapter;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsWriter;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes merged deltas as a PEFT LoRA adapter: each ΔW re-factorised by truncated SVD, ΔW ≈ B·A with
 * B = U_r·√S_r and A = √S_r·V_rᵀ, and lora_alpha = r so the scale is 1. Ranks that differ per module
 * go into {@code rank_pattern}/{@code alpha_pattern}, so PEFT loads the adapter as written.
 */
public final class LoraExporter {
    private LoraExporter() {
    }

    /** A module's factors and the share of ΔW's squared Frobenius norm they keep. */
    public record Factorised(INDArray a, INDArray b, int rank, double energyKept) {
    }

    /** Truncated SVD of delta [out×in] at rank min(rank, out, in). */
    public static Factorised factorise(INDArray delta, int rank) {
        int out = Matrices.rows(delta);
        int in = Matrices.cols(delta);
        int r = Math.max(1, Math.min(rank, Math.min(out, in)));
        Lapack.Svd svd = Lapack.svd(Matrices.toArray(delta), out, in);
        double[] a = new double[r * in];
        double[] b = new double[out * r];
        for (int k = 0; k < r; k++) {
            double root = Math.sqrt(svd.s()[k]);
            for (int j = 0; j < in; j++) {
                a[k * in + j] = root * svd.vt()[k * in + j];
            }
            for (int i = 0; i < out; i++) {
                b[i * r + k] = root * svd.u()[i * svd.k() + k];
            }
        }
        return new Factorised(Matrices.of(a, r, in), Matrices.of(b, out, r), r, energyKept(svd.s(), r));
    }

    /**
     * The same truncated SVD of ΔW = b·a (b [out×R], a [R×in], as the low-rank solve returns it) without forming
     * ΔW: thin QR of b and of aᵀ, then the SVD of the R×R core R_b·R_aᵀ, whose singular values are ΔW's. At LLM
     * size that is a few small factorisations instead of the SVD of a 4096×4096 matrix per layer. The rank is at
     * most R (ΔW has no more). A layer narrower than R is cut from the dense ΔW (as cheap there).
     */
    public static Factorised factorise(LayerMergeResult.Factors f, int rank) {
        int out = Matrices.rows(f.b());
        int inner = Matrices.cols(f.b());
        int in = Matrices.cols(f.a());
        if (inner > out || inner > in) {
            return factorise(Blas.mmul(f.b(), f.a()), rank);
        }
        Lapack.Qr qb = Lapack.thinQr(Matrices.toArray(f.b()), out, inner);
        Lapack.Qr qa = Lapack.thinQr(Matrices.toArray(f.a().transpose()), in, inner);
        INDArray core = Blas.mmul(Matrices.of(qb.r(), inner, inner), Matrices.of(qa.r(), inner, inner).transpose());
        Lapack.Svd svd = Lapack.svd(Matrices.toArray(core), inner, inner);
        int r = Math.max(1, Math.min(rank, inner));
        // B' = Q_b·U_r·√S_r, A' = √S_r·V_rᵀ·Q_aᵀ
        double[] ur = new double[inner * r];
        double[] vr = new double[r * inner];
        for (int k = 0; k < r; k++) {
            double root = Math.sqrt(svd.s()[k]);
            for (int i = 0; i < inner; i++) {
                ur[i * r + k] = root * svd.u()[i * svd.k() + k];
                vr[k * inner + i] = root * svd.vt()[k * inner + i];
            }
        }
        INDArray b = Blas.mmul(Matrices.of(qb.q(), out, inner), Matrices.of(ur, inner, r));
        INDArray a = Blas.mmul(Matrices.of(vr, r, inner), Matrices.of(qa.q(), in, inner).transpose());
        return new Factorised(a, b, r, energyKept(svd.s(), r));
    }

    /** The share of Σ s_k² in the first {@code r} singular values (1 for a zero matrix). */
    private static double energyKept(double[] s, int r) {
        double total = 0;
        double kept = 0;
        for (int k = 0; k < s.length; k++) {
            double e = s[k] * s[k];
            total += e;
            if (k < r) {
                kept += e;
            }
        }
        return total == 0 ? 1.0 : kept / total;
    }

    /**
     * Writes {@code adapter_model.safetensors} and {@code adapter_config.json} into {@code dir}.
     *
     * @param results the last solve's results: a layer whose update came out factored is cut from its factors
     * @param rank    output rank; 0 = per module the sum of the input ranks (capped by the layer size)
     * @return per module the share of ΔW's energy kept
     */
    public static Map<String, Double> write(MergeInputs inputs, Map<String, INDArray> deltas, Map<String, LayerMergeResult> results,
                                            int rank, Path dir) {
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        Map<String, Double> energy = new LinkedHashMap<>();
        Map<String, Integer> ranks = new LinkedHashMap<>();
        for (String layer : inputs.layers()) {
            int r = rank > 0 ? rank : inputs.summedRank(layer);
            LayerMergeResult.Factors factors = results == null || results.get(layer) == null ? null : results.get(layer).factors();
            Factorised f = factors != null ? factorise(factors, r) : factorise(deltas.get(layer), r);
            writer.add(PeftAdapter.KEY_PREFIX + layer + ".lora_A.weight", DType.F32, f.a().shape(), Matrices.toArray(f.a()));
            writer.add(PeftAdapter.KEY_PREFIX + layer + ".lora_B.weight", DType.F32, f.b().shape(), Matrices.toArray(f.b()));
            energy.put(layer, f.energyKept());
            ranks.put(layer, f.rank());
        }
        writer.write(dir.resolve(PeftAdapter.WEIGHTS_FILE));
        AtomicFiles.writeString(dir.resolve(LoraConfig.FILE_NAME), configJson(inputs, ranks));
        return energy;
    }

    private static String configJson(MergeInputs inputs, Map<String, Integer> ranks) {
        Map<Integer, Integer> counts = new TreeMap<>();
        ranks.values().forEach(r -> counts.merge(r, 1, Integer::sum));
        int common = counts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        LoraConfig first = inputs.adapters().get(0).adapter().config();
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = json.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("r", common);
        c.put("lora_alpha", common);
        c.put("use_rslora", false);
        c.put("fan_in_fan_out", inputs.fanInFanOut());
        if (first.targetModulesRegex() != null) {
            c.put("target_modules", first.targetModulesRegex());
        } else {
            ArrayNode tm = c.putArray("target_modules");
            first.targetModules().forEach(tm::add);
        }
        ObjectNode rp = c.putObject("rank_pattern");
        ObjectNode ap = c.putObject("alpha_pattern");
        ranks.forEach((layer, r) -> {
            if (r != common) {
                rp.put(layer, r);
                ap.put(layer, r);
            }
        });
        c.put("lora_dropout", 0.0);
        c.put("bias", "none");
        c.put("base_model_name_or_path", first.baseModelNameOrPath());
        c.put("task_type", first.taskType());
        c.put("inference_mode", true);
        c.putNull("modules_to_save");
        try {
            return json.writeValueAsString(c) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
