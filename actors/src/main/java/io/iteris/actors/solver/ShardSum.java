package io.iteris.actors.solver;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;
import java.util.TreeMap;

/**
 * One statistic's running sum over a task's shards, added strictly in shard order however they arrive, so
 * it is bit-identical to {@link io.iteris.core.stats.GramStatistics#sumInOrder} (shard 0, then + shard 1, …).
 * Only shards that arrive ahead of their turn are held apart: a solver's memory is one in×in matrix per statistic
 * whatever the number of shards, not one per shard. Each shard counts once.
 */
final class ShardSum {
    private final int shards;
    private final Map<Integer, Early> early = new TreeMap<>();
    private INDArray sum;
    private long rows;
    private int next;

    private record Early(INDArray matrix, long rows) {
    }

    ShardSum(int shards) {
        this.shards = shards;
    }

    /** Whether the shard is in the sum or waiting for its turn. */
    boolean has(int shard) {
        return shard < next || early.containsKey(shard);
    }

    /** Takes a shard's matrix (owned from now on: it becomes the sum or is added into it); a repeat is ignored. */
    void add(int shard, INDArray matrix, long shardRows) {
        if (shard < 0 || shard >= shards || has(shard)) {
            return;
        }
        if (shard != next) {
            early.put(shard, new Early(matrix, shardRows));
            return;
        }
        include(matrix, shardRows);
        Early e;
        while ((e = early.remove(next)) != null) {
            include(e.matrix(), e.rows());
        }
    }

    private void include(INDArray matrix, long shardRows) {
        if (sum == null) {
            sum = matrix;
        } else {
            sum.addi(matrix);
        }
        rows += shardRows;
        next++;
    }

    boolean complete() {
        return next == shards;
    }

    /** The sum over every shard; only when {@link #complete()}. */
    INDArray sum() {
        if (!complete()) {
            throw new IllegalStateException("shards " + next + ".." + (shards - 1) + " are not in the sum yet");
        }
        return sum;
    }

    long rows() {
        return rows;
    }
}
