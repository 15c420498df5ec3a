package io.iteris.core.model.onnx;

import java.util.List;
import java.util.regex.Pattern;

/**
 * How an exported graph's node names become PEFT module names. By default a projection's MatMul node
 * {@code /model/layers.0/self_attn/q_proj/MatMul} is module {@code model.layers.0.self_attn.q_proj} (what Optimum and
 * torch.onnx write for LLaMA, Mistral, Qwen and BERT alike). An exporter that names nodes otherwise gets rename rules
 * ({@code iteris.merge.onnx-module-names}: a regular expression and its replacement, applied in order to the default
 * name), not a code change.
 */
public record ModuleNames(List<Rule> rules) {
    public record Rule(Pattern pattern, String replacement) {
    }

    public static final ModuleNames DEFAULT = new ModuleNames(List.of());

    /** The module a node belongs to, or null for nodes that are not a module's MatMul or Gemm. */
    public String module(String nodeName) {
        String m = defaultName(nodeName);
        if (m == null) {
            return null;
        }
        for (Rule r : rules) {
            m = r.pattern().matcher(m).replaceAll(r.replacement());
        }
        return m;
    }

    /** {@code /a/b.0/c/MatMul} → {@code a.b.0.c}. */
    static String defaultName(String nodeName) {
        for (String op : List.of("/MatMul", "/Gemm")) {
            if (nodeName.startsWith("/") && nodeName.endsWith(op) && nodeName.length() > op.length() + 1) {
                return nodeName.substring(1, nodeName.length() - op.length()).replace('/', '.');
            }
        }
        return null;
    }
}
