package io.iteris.actors.solver;

import io.iteris.actors.cluster.JobSpecs;
import io.iteris.actors.stream.ChunkAssembler;
import io.iteris.core.stats.GramStatistics;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.StatisticChunk;
import io.iteris.protocol.StatisticKey;
import io.iteris.protocol.StatisticKind;
import io.iteris.protocol.UnitId;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a {@link LayerSolver} has received of its layer group's statistics, once it knows its job: chunks checked
 * against the layer's shape and the job's plan before anything is allocated, assembled, and summed in shard order
 * ({@link ShardSum}: one in×in matrix per statistic, whatever the number of shards). G = XᵀX is summed once per task
 * and kept (it depends only on the task models); C and H per (iteration, task), dropped once their iteration is solved.
 * Confined to its solver's thread: a solve running elsewhere gets finished sums, which nothing changes any more.
 */
final class LayerStatistics {
    /** Which running sum a C or H contribution goes into. */
    private record SumKey(int iteration, int task, StatisticKind kind) {
    }

    private final String jobId;
    private final String layer;
    private final JobSpec spec;
    private final int dim;
    /** The layers solved from these statistics: the solver's own and those sharing its input, in job order. */
    private final List<String> members;
    private final Map<StatisticKey, ChunkAssembler> assembling = new HashMap<>();
    /** Per task, G summed over its shards. */
    private final Map<Integer, ShardSum> g = new HashMap<>();
    private final Map<SumKey, ShardSum> merged = new HashMap<>();
    /** The last iteration every layer of the group has solved: C and H up to it are no longer needed. */
    private int solvedUpTo = -1;

    /** The statistics of {@code layer} in job {@code spec}, or null (with the reason logged by the caller) if it has none. */
    static LayerStatistics of(JobSpec spec, String layer) {
        int i = spec.getLayersList().indexOf(layer);
        if (i < 0 || i >= spec.getLayerInputsCount() || !JobSpecs.statisticsLayer(spec, layer).equals(layer)) {
            return null;
        }
        return new LayerStatistics(spec, layer, spec.getLayerInputs(i));
    }

    private LayerStatistics(JobSpec spec, String layer, int dim) {
        this.jobId = spec.getJobId();
        this.layer = layer;
        this.spec = spec;
        this.dim = dim;
        this.members = spec.getLayersList().stream().filter(l -> JobSpecs.statisticsLayer(spec, l).equals(layer)).toList();
    }

    JobSpec spec() {
        return spec;
    }

    List<String> members() {
        return members;
    }

    /** The outcome of offering one chunk. */
    enum Offer { TAKEN, STALE, COMPLETED, REFUSED }

    /** Takes a chunk (or sees it is stale); {@code why} gets the reason when it is refused. */
    Offer offer(StatisticChunk c, StringBuilder why) {
        StatisticKey key = c.getKey();
        if (isStale(key)) {
            return Offer.STALE;
        }
        String bad = check(c);
        ChunkAssembler a = bad != null ? null : assembling.computeIfAbsent(key, k -> new ChunkAssembler(c));
        if (bad != null || !a.accept(c)) {
            why.append(bad != null ? bad : "corrupted, or inconsistent with its statistic's other chunks");
            return Offer.REFUSED;
        }
        if (!a.complete()) {
            return Offer.TAKEN;
        }
        assembling.remove(key);
        sumOf(key).add(key.getShard(), a.matrix(), a.rows());
        return Offer.COMPLETED;
    }

    /** Why a chunk does not fit this job's plan and layer shape (checked before anything is allocated), or null. */
    private String check(StatisticChunk c) {
        StatisticKey k = c.getKey();
        if (!c.getJobId().equals(jobId) || !k.getLayer().equals(layer)) {
            return "it is for " + c.getJobId() + " / " + k.getLayer();
        }
        if (c.getDim() != dim) {
            return "it announces a " + c.getDim() + "x" + c.getDim() + " statistic but the layer has " + dim + " inputs";
        }
        if (k.getTask() < 0 || k.getTask() >= spec.getShardsPerTaskCount() || k.getShard() < 0
                || k.getShard() >= spec.getShardsPerTask(k.getTask())) {
            return "task " + k.getTask() + " shard " + k.getShard() + " is not in the job's plan";
        }
        if (k.getIteration() < 0 || k.getIteration() >= spec.getIterations()) {
            return "iteration " + k.getIteration() + " is not in the job's plan";
        }
        if (c.getChunkCount() <= 0 || c.getChunkCount() > (long) dim * dim || c.getRows() < 0) {
            return "it claims " + c.getChunkCount() + " chunks and " + c.getRows() + " rows";
        }
        return null;
    }

    /** A contribution nobody needs any more: a G already held, or C/H of an iteration already solved or held. */
    private boolean isStale(StatisticKey key) {
        if (key.getKind() == StatisticKind.STATISTIC_G) {
            return has(g.get(key.getTask()), key.getShard());
        }
        return key.getIteration() <= solvedUpTo || has(merged.get(new SumKey(key.getIteration(), key.getTask(), key.getKind())), key.getShard());
    }

    private static boolean has(ShardSum sum, int shard) {
        return sum != null && sum.has(shard);
    }

    /** The running sum a (checked) contribution goes into. */
    private ShardSum sumOf(StatisticKey key) {
        int shards = spec.getShardsPerTask(key.getTask());
        if (key.getKind() == StatisticKind.STATISTIC_G) {
            return g.computeIfAbsent(key.getTask(), t -> new ShardSum(shards));
        }
        return merged.computeIfAbsent(new SumKey(key.getIteration(), key.getTask(), key.getKind()), k -> new ShardSum(shards));
    }

    /** The units whose statistics iteration {@code it} still lacks (G included where it is missing). */
    List<MissingUnit> missing(int it) {
        List<MissingUnit> out = new ArrayList<>();
        for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
            for (int s = 0; s < spec.getShardsPerTask(t); s++) {
                boolean needG = !has(g.get(t), s);
                boolean needMerged = it > 0 && (!has(merged.get(new SumKey(it, t, StatisticKind.STATISTIC_C)), s)
                        || !has(merged.get(new SumKey(it, t, StatisticKind.STATISTIC_H)), s));
                if (needG || needMerged) {
                    out.add(MissingUnit.newBuilder().setIncludeG(needG)
                            .setUnit(UnitId.newBuilder().setIteration(it).setTask(t).setShard(s)).build());
                }
            }
        }
        return out;
    }

    /** Per task, the finished sums iteration {@code it} solves from (none missing); null for a job without tasks' data. */
    List<GramStatistics> perTask(int it) {
        if (spec.getShardsPerTaskCount() == 0) {
            return null;
        }
        List<GramStatistics> perTask = new ArrayList<>();
        for (int t = 0; t < spec.getShardsPerTaskCount(); t++) {
            ShardSum gs = g.get(t);
            perTask.add(it == 0 ? new GramStatistics(gs.sum(), gs.sum(), gs.sum(), gs.rows())
                    : new GramStatistics(gs.sum(), merged.get(new SumKey(it, t, StatisticKind.STATISTIC_C)).sum(),
                    merged.get(new SumKey(it, t, StatisticKind.STATISTIC_H)).sum(), gs.rows()));
        }
        return perTask;
    }

    /** Every layer of the group has solved iteration {@code it}: its C and H (and older ones) go. */
    void solvedUpTo(int it) {
        solvedUpTo = Math.max(solvedUpTo, it);
        merged.keySet().removeIf(k -> k.iteration() <= it);
    }
}
