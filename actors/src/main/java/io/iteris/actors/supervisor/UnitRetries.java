package io.iteris.actors.supervisor;

/**
 * How often a work unit may fail, or have its statistics refilled for a solver, before the job fails with the reason
 * rather than retrying forever. The counts are the journal's ({@link SupervisorState.Unit#failures()},
 * {@link SupervisorState.Unit#refills()}), so a recovered supervisor goes on counting where its predecessor stopped.
 */
final class UnitRetries {
    static final int MAX_FAILURES = 3;
    /** Far beyond what node losses cause in one iteration, so more means a loop. */
    static final int MAX_REFILLS = 10;

    private UnitRetries() {
    }

    /** Why the job must fail after this failure of the unit, or null while it may be retried. */
    static String failed(SupervisorState.Unit unit, String reason) {
        int n = unit.failures() + 1;
        return n >= MAX_FAILURES ? "work unit " + SupervisorState.key(unit.id()) + " failed " + n + " times: " + reason : null;
    }

    /** Why the job must fail instead of refilling the unit's statistics again, or null. */
    static String refilled(SupervisorState.Unit unit, String layer) {
        int n = unit.refills() + 1;
        return n > MAX_REFILLS ? "the statistics of work unit " + SupervisorState.key(unit.id()) + " were sent " + n
                + " times and the solver of " + layer + " still lacks them" : null;
    }
}
