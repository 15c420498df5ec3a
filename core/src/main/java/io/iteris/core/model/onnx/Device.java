package io.iteris.core.model.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Where ONNX Runtime runs a model: {@code cpu}, {@code cuda:i} (CUDA execution provider, GPU i), or {@code cuda}, every
 * GPU of the host, one per inference worker ({@link #forWorker}). CUDA needs the GPU build of iteris
 * ({@code ./mvnw -Pgpu}, onnxruntime_gpu) and an NVIDIA driver with CUDA 12 and cuDNN 9 on the host; asked for it
 * without them, a node fails when it starts, saying which is missing, and never falls back to the CPU silently.
 *
 * <p>{@code gram} says where the Gram statistics of the captured inputs are multiplied ({@link Gram}).
 */
public record Device(boolean cuda, int index, boolean perWorker, Gram gram) {
    public static final Device CPU = new Device(false, 0, false, Gram.AUTO);

    /**
     * Where a pass's statistics C = XᵀX̃, H = X̃ᵀX̃ are computed: {@code DEVICE}, inside the ONNX Runtime session on the
     * model's device (float64 products added to the graph), so only in×in matrices leave it instead of the [rows × in]
     * activations; {@code HOST}, in the JVM with OpenBLAS after the activations are copied out; {@code AUTO}, DEVICE on
     * CUDA and HOST on the CPU (where OpenBLAS multiplies faster than ONNX Runtime's float64 kernels). The two agree to
     * rounding, not to the bit, so every worker of a job must use the same (one setting, read by every engine).
     */
    public enum Gram {
        AUTO, DEVICE, HOST;

        public static Gram parse(String s) {
            return switch (s.strip().toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "device" -> DEVICE;
                case "host" -> HOST;
                default -> throw new IllegalArgumentException("gram must be auto, device or host, got '" + s + "'");
            };
        }
    }

    public Device(boolean cuda, int index) {
        this(cuda, index, false, Gram.AUTO);
    }

    public static Device parse(String s) {
        String v = s.strip().toLowerCase(Locale.ROOT);
        if (v.equals("cpu")) {
            return CPU;
        }
        if (v.equals("cuda")) {
            return new Device(true, 0, true, Gram.AUTO);
        }
        if (v.matches("cuda:\\d{1,3}")) {
            return new Device(true, Integer.parseInt(v.substring(5)));
        }
        throw new IllegalArgumentException("a device is cpu, cuda or cuda:N, got '" + s + "'");
    }

    /** This device with its statistics computed where {@code gram} says. */
    public Device withGram(Gram gram) {
        return new Device(cuda, index, perWorker, gram);
    }

    /** Whether the Gram statistics are multiplied inside the ONNX Runtime session ({@link Gram}). */
    public boolean gramOnDevice() {
        return gram == Gram.DEVICE || (gram == Gram.AUTO && cuda);
    }

    /** The device of inference worker {@code k} of a node: GPU k for {@code cuda}, this device otherwise. */
    public Device forWorker(int k) {
        return perWorker ? new Device(true, k, false, gram) : this;
    }

    /**
     * Inference workers a node starts when the setting is {@code auto}: one per GPU for {@code cuda}, one for {@code cuda:N}
     * (each worker holds its own session, so two on one GPU would hold the model twice), else {@code cpuWorkers}. A node
     * asked for every GPU of a host without one fails, naming what it looked at.
     */
    public int defaultWorkers(int cpuWorkers) {
        if (!cuda) {
            return cpuWorkers;
        }
        if (!perWorker) {
            return 1;
        }
        int gpus = gpuCount(System.getenv("CUDA_VISIBLE_DEVICES"), Path.of("/proc/driver/nvidia/gpus"));
        if (gpus == 0) {
            throw new IllegalArgumentException("device cuda (one worker per GPU): no NVIDIA GPU is visible (CUDA_VISIBLE_DEVICES="
                    + System.getenv("CUDA_VISIBLE_DEVICES") + ", /proc/driver/nvidia/gpus empty or missing); is the NVIDIA driver loaded?");
        }
        return gpus;
    }

    /**
     * GPUs a CUDA process on this host sees: the entries of {@code CUDA_VISIBLE_DEVICES} when it is set (CUDA hides the
     * rest, and an invalid entry hides those after it), else one per GPU the NVIDIA driver lists under {@code driverDir}.
     */
    static int gpuCount(String visible, Path driverDir) {
        if (visible != null) {
            int n = 0;
            for (String e : visible.split(",", -1)) {
                String v = e.strip();
                if (v.isEmpty() || v.startsWith("-")) {
                    break;
                }
                n++;
            }
            return n;
        }
        if (!Files.isDirectory(driverDir)) {
            return 0;
        }
        try (Stream<Path> gpus = Files.list(driverDir)) {
            return (int) gpus.count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Refuses a device this process cannot use, with the reason: no CUDA provider in this build, or no usable GPU. */
    public Device check() {
        String why = unusable();
        if (why != null) {
            throw new IllegalArgumentException(why);
        }
        return this;
    }

    /** Why this process cannot run models on this device, or null when it can (the CPU always). */
    public String unusable() {
        if (!cuda) {
            return null;
        }
        EnumSet<OrtProvider> available = OrtEnvironment.getAvailableProviders();
        if (!available.contains(OrtProvider.CUDA)) {
            return "device " + this + ": this build's ONNX Runtime has no CUDA execution provider (it has " + available
                    + "); build the GPU jar with ./mvnw -Pgpu -DskipTests install (onnxruntime_gpu) and run it on a host"
                    + " with an NVIDIA driver, CUDA 12 and cuDNN 9";
        }
        // loading the provider for this GPU fails now, not at the first unit, when the driver or the libraries are missing
        OrtEnvironment.getEnvironment(); // (ONNX Runtime's logging must exist before the provider loads)
        try (ai.onnxruntime.OrtSession.SessionOptions probe = new ai.onnxruntime.OrtSession.SessionOptions()) {
            addTo(probe);
        } catch (ai.onnxruntime.OrtException e) {
            return "device " + this + ": ONNX Runtime cannot use it (" + e.getMessage()
                    + "); is the NVIDIA driver loaded, and are CUDA 12 and cuDNN 9 installed?";
        }
        return null;
    }

    /**
     * Puts this device's execution provider on a session: for CUDA, GPU {@code index} with TF32 off. ONNX Runtime turns TF32
     * on by default, which rounds float32 products to 10 mantissa bits (relative 1e-3) on Ampere and later; IterIS's
     * statistics are float64, and its forward passes should keep float32's precision as on the CPU. (A model exported in
     * float16 or bfloat16 uses the tensor cores anyway.)
     */
    public void addTo(ai.onnxruntime.OrtSession.SessionOptions options) throws ai.onnxruntime.OrtException {
        if (cuda) {
            ai.onnxruntime.providers.OrtCUDAProviderOptions cudaOptions = new ai.onnxruntime.providers.OrtCUDAProviderOptions(index);
            cudaOptions.add("use_tf32", "0");
            options.addCUDA(cudaOptions);
        }
    }

    @Override
    public String toString() {
        return !cuda ? "cpu" : perWorker ? "cuda" : "cuda:" + index;
    }
}
