package io.iteris.core.model.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;

import java.util.EnumSet;

/**
 * Where ONNX Runtime runs a model: {@code cpu}, {@code cuda:i} (CUDA execution provider, GPU i), or {@code cuda}, every
 * GPU of the host, one per inference worker ({@link #forWorker}). CUDA needs the GPU build of iteris
 * ({@code ./mvnw -Pgpu}, onnxruntime_gpu) and an NVIDIA driver with CUDA 12 and cuDNN 9 on the host; asked for it
 * without them, a node fails when it starts, saying which is missing, and never falls back to the CPU silently.
 */
public record Device(boolean cuda, int index, boolean perWorker) {
    public static final Device CPU = new Device(false, 0, false);

    public Device(boolean cuda, int index) {
        this(cuda, index, false);
    }

    public static Device parse(String s) {
        String v = s.strip().toLowerCase(java.util.Locale.ROOT);
        if (v.equals("cpu")) {
            return CPU;
        }
        if (v.equals("cuda")) {
            return new Device(true, 0, true);
        }
        if (v.matches("cuda:\\d{1,3}")) {
            return new Device(true, Integer.parseInt(v.substring(5)));
        }
        throw new IllegalArgumentException("a device is cpu, cuda or cuda:N, got '" + s + "'");
    }

    /** The device of inference worker {@code k} of a node: GPU k for {@code cuda}, this device otherwise. */
    public Device forWorker(int k) {
        return perWorker ? new Device(true, k, false) : this;
    }

    /** Refuses a device this process cannot use, with the reason: no CUDA provider in this build, or no usable GPU. */
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
        // loading the provider for this GPU fails now, not at the first unit, when the driver or the libraries are missing
        OrtEnvironment.getEnvironment(); // (ONNX Runtime's logging must exist before the provider loads)
        try (ai.onnxruntime.OrtSession.SessionOptions probe = new ai.onnxruntime.OrtSession.SessionOptions()) {
            probe.addCUDA(index);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IllegalArgumentException("device " + this + ": ONNX Runtime cannot use it (" + e.getMessage()
                    + "); is the NVIDIA driver loaded, and are CUDA 12 and cuDNN 9 installed?", e);
        }
        return this;
    }

    @Override
    public String toString() {
        return !cuda ? "cpu" : perWorker ? "cuda" : "cuda:" + index;
    }
}
