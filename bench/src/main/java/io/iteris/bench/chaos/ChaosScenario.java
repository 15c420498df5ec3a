package io.iteris.bench.chaos;

/** What a chaos run breaks, and when. */
public enum ChaosScenario {
    /** SIGKILL a node whose inference worker holds a unit in progress. */
    KILL_WORKER_NODE,
    /** SIGKILL a node holding layer solvers while an iteration's statistics stream in. */
    KILL_SOLVER_NODE,
    /** SIGKILL the node running the job's supervisor. */
    KILL_SUPERVISOR_NODE,
    /** SIGKILL every node, then start a new cluster on the same journal and store. */
    KILL_ALL_NODES,
    /** SIGSTOP a node past the failure detector's threshold, then SIGCONT it. */
    PAUSE_NODE,
    /**
     * The node publishing the output halts right after renaming it into place, before the job's completion is
     * journaled (an injected fault: no external kill hits that instant reliably).
     */
    CRASH_AFTER_PUBLISH
}
