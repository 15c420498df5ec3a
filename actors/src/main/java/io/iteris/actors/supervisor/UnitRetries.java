package io.iteris.actors.supervisor;

import io.iteris.protocol.UnitId;

import java.util.HashMap;
import java.util.Map;

/**
 * How often each work unit failed, or had its statistics refilled for a solver; past a limit the job fails
 * with the reason rather than retrying forever. Kept in memory: a recovered supervisor counts afresh.
 */
final class UnitRetries {
    static final int MAX_FAILURES = 3;
    /** Far beyond what node losses cause in one iteration, so more means a loop. */
    static final int MAX_REFILLS = 10;

    private final Map<String, Integer> failures = new HashMap<>();
    private final Map<String, Integer> refills = new HashMap<>();

    /** Why the job must fail after this failure of the unit, or null while it may be retried. */
    String failed(UnitId unit, String reason) {
        int n = failures.merge(SupervisorState.key(unit), 1, Integer::sum);
        return n >= MAX_FAILURES ? "work unit " + SupervisorState.key(unit) + " failed " + n + " times: " + reason : null;
    }

    /** Why the job must fail instead of refilling the unit's statistics again, or null. */
    String refilled(UnitId unit, String layer) {
        int n = refills.merge(SupervisorState.key(unit), 1, Integer::sum);
        return n > MAX_REFILLS ? "the statistics of work unit " + SupervisorState.key(unit) + " were sent " + n
                + " times and the solver of " + layer + " still lacks them" : null;
    }
}
