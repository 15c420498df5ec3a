package io.iteris.core.model.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;

import java.util.EnumSet;

/**
 * Where ONNX Runtime runs a model: {@code cpu}, or {@code cuda[:i]} (CUDA execution provider, GPU i). CUDA needs the
 * GPU build of iteris ({@code ./mvnw -Pgpu}, onnxruntime_gpu) and CUDA 12 with cuDNN 9 on the host; asked for it
 * without them, a node fails when it starts, saying which is missing, and never falls back to the CPU silently.
 */
public record Device(boolean cuda, int index) {
    public static final Device CPU = new Device(false, 0);

    public static Device parse(String s) {
        String v = s.strip().toLowerCase(java.util.Locale.ROOT);
        if (v.equals("cpu")) {
            return CPU;
        }
        if (v.equals("cuda")) {
            return new Device(true, 0);
        }
        if (v.matches("cuda:\\d{1,3}")) {
            return new Device(true, Integer.parseInt(v.substring(5)));
        }
        throw new IllegalArgumentException("a device is cpu, cuda or cuda:N, got '" + s + "'");
    }

    /** Refuses a device this process cannot use, with the reason. */
    public Device check() {
        if (!cuda) {
            return this;
        }
        EnumSet<OrtProvider> available = OrtEnvironment.getAvailableProviders();
        if (!available.contains(OrtProvider.CUDA)) {
            throw new IllegalArgumentException("device " + this + ": this build's ONNX Runtime has no CUDA execution provider (it has "
                    + available + "); build the GPU jar with ./mvnw -Pgpu -DskipTests install (onnxruntime_gpu) and run it on a host"
                    + " with an NVIDIA driver, CUDA 12 and cuDNN 9");
        }
        return this;
    }

    @Override
    public String toString() {
        return cuda ? "cuda:" + index : "cpu";
    }
}
