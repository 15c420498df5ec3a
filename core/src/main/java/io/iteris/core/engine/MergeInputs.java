package io.iteris.core.engine;

import io.iteris.core.merge.LayerMergeInput;
import io.iteris.core.merge.TaskLayer;
import io.iteris.core.model.BaseModel;
import io.iteris.core.stats.GramStatistics;
import io.iteris.core.peft.AdapterException;
import io.iteris.core.peft.LoraModule;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Adapters checked against each other and against the base model, giving W0 and every ΔW_i per layer.
 * Everything that can be wrong with the inputs is found here, before any work starts. Nothing dense is kept:
 * W0 is read from the base (memory-mapped) and ΔW_i = s_i·B_i·A_i formed from the adapter's factors each time
 * a layer is asked for, so a node holds the factors and one layer at a time, not the model (at LLM size, MBs
 * instead of the targeted weights in float64 several times over).
 */
public final class MergeInputs {
    private final BaseModel base;
    private final List<NamedAdapter> adapters;
    private final List<String> layers;
    private final boolean fanInFanOut;

    private MergeInputs(BaseModel base, List<NamedAdapter> adapters, List<String> layers, boolean fanInFanOut) {
        this.base = base;
        this.adapters = adapters;
        this.layers = layers;
        this.fanInFanOut = fanInFanOut;
    }

    public static MergeInputs prepare(BaseModel base, List<NamedAdapter> adapters) {
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("no adapters to merge");
        }
        Set<String> names = new HashSet<>();
        for (NamedAdapter a : adapters) {
            if (!names.add(a.name())) {
                throw new IllegalArgumentException("adapter name '" + a.name() + "' is used twice");
            }
        }
        NamedAdapter first = adapters.get(0);
        Set<String> modules = first.adapter().modules().keySet();
        boolean fifo = first.adapter().config().fanInFanOut();
        for (NamedAdapter a : adapters.subList(1, adapters.size())) {
            Set<String> other = a.adapter().modules().keySet();
            if (!other.equals(modules)) {
                Set<String> missing = new TreeSet<>(modules);
                missing.removeAll(other);
                Set<String> extra = new TreeSet<>(other);
                extra.removeAll(modules);
                throw new AdapterException(a.adapter().directory(), "adapter '" + a.name() + "' targets different modules than '"
                        + first.name() + "'" + (missing.isEmpty() ? "" : "; it lacks " + missing)
                        + (extra.isEmpty() ? "" : "; only it has " + extra) + ". All adapters must target the same modules");
            }
            if (a.adapter().config().fanInFanOut() != fifo) {
                throw new AdapterException(a.adapter().directory(), "adapter '" + a.name() + "' has fan_in_fan_out = "
                        + !fifo + " but '" + first.name() + "' has " + fifo);
            }
        }
        MergeInputs in = new MergeInputs(base, List.copyOf(adapters), List.copyOf(modules), fifo);
        for (String layer : in.layers) {
            long[] shape = base.linearShape(layer, fifo);
            for (NamedAdapter a : adapters) {
                LoraModule m = a.adapter().module(layer);
                if (m.outFeatures() != shape[0] || m.inFeatures() != shape[1]) {
                    throw new AdapterException(a.adapter().directory(), "adapter '" + a.name() + "', module '" + layer
                            + "': the LoRA makes a " + m.outFeatures() + "x" + m.inFeatures() + " delta but the base weight "
                            + BaseModel.weightKey(layer) + " is " + shape[0] + "x" + shape[1]
                            + " (out x in): was it trained on another base model?");
                }
            }
            // read once now so that a bad weight (NaN, infinity, unreadable) is refused before any work
            base.weight(layer, fifo);
        }
        return in;
    }

    public BaseModel base() {
        return base;
    }

    public List<NamedAdapter> adapters() {
        return adapters;
    }

    public List<String> layers() {
        return layers;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /** A layer's shape [out, in], from the base's metadata (no weight is read). */
    public long[] shape(String layer) {
        requireLayer(layer);
        return base.linearShape(layer, fanInFanOut);
    }

    /** W0 [out×in] of a layer, read from the base. */
    public INDArray w0(String layer) {
        requireLayer(layer);
        return base.weight(layer, fanInFanOut);
    }

    /** ΔW_i [out×in] of a layer, per task, formed from the adapters' factors. */
    public List<INDArray> deltas(String layer) {
        requireLayer(layer);
        List<INDArray> out = new ArrayList<>();
        for (NamedAdapter a : adapters) {
            out.add(a.adapter().module(layer).delta());
        }
        return out;
    }

    private void requireLayer(String layer) {
        if (!layers.contains(layer)) {
            throw new IllegalArgumentException("no merged layer '" + layer + "'; the layers are " + layers);
        }
    }

    public int taskCount() {
        return adapters.size();
    }

    /** Full weights W0 + ΔW_i of every layer: the model carrying task i's LoRA alone. */
    public Map<String, INDArray> taskWeights(int task) {
        Map<String, INDArray> w = new LinkedHashMap<>();
        for (String l : layers) {
            w.put(l, w0(l).addi(adapters.get(task).adapter().module(l).delta()));
        }
        return w;
    }

    /** Full weights W0 + ΔW of every layer for a merged delta per layer. */
    public Map<String, INDArray> mergedWeights(Map<String, INDArray> mergedDeltas) {
        Map<String, INDArray> w = new LinkedHashMap<>();
        for (String l : layers) {
            w.put(l, w0(l).addi(mergedDeltas.get(l)));
        }
        return w;
    }

    /**
     * What a merge method gets for one layer: W0 and every task's LoRA factors (ΔW is formed only by methods
     * that need it dense).
     *
     * @param stats        per task its statistics at this layer, or null for methods that need none
     * @param coefficients IterIS's adaptive coefficients from this job's first solve of the layer, or null
     */
    public LayerMergeInput layerInput(String layer, int iteration, List<GramStatistics> stats, double[] coefficients) {
        requireLayer(layer);
        List<TaskLayer> tasks = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            NamedAdapter a = adapters.get(i);
            tasks.add(TaskLayer.ofLora(a.name(), a.adapter().module(layer), a.manualCoef(), stats == null ? null : stats.get(i)));
        }
        return new LayerMergeInput(layer, w0(layer), tasks, iteration, coefficients);
    }

    /** Every layer's input without statistics, in layer order, each built when the iteration reaches it. */
    public Iterable<LayerMergeInput> layerInputs() {
        return () -> layers().stream().map(l -> layerInput(l, 0, null, null)).iterator();
    }

    /** Sum of the input ranks of a layer: the rank that represents any linear combination of the deltas exactly. */
    public int summedRank(String layer) {
        int r = 0;
        for (NamedAdapter a : adapters) {
            r += a.adapter().module(layer).rank();
        }
        return r;
    }
}
