package io.iteris.actors;

import io.iteris.actors.node.NodeAgent;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.supervisor.MergeSupervisor;
import io.iteris.actors.worker.InferenceWorker;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;

/**
 * How the engine's actors find each other: the sharded entity types (merge supervisors, layer solvers), the
 * Receptionist keys (inference workers, node agents), and the helpers that send to them. An actor that is typed on its
 * own protocol keeps it beside it ({@code InferenceWorker.Command}, ...), and its senders import that.
 */
public final class Entities {
    /** One merge supervisor per job, sharded by job id (role "supervisor"). */
    public static final EntityTypeKey<MergeSupervisor.Command> SUPERVISOR = EntityTypeKey.create(MergeSupervisor.Command.class, "MergeSupervisor");
    /**
     * One layer solver per job and input, sharded by {@link #solverId} of the first layer reading that input
     * ({@link io.iteris.actors.cluster.JobSpecs#statisticsLayer}); it solves every layer of the group (role "solver").
     */
    public static final EntityTypeKey<LayerSolver.Command> SOLVER = EntityTypeKey.create(LayerSolver.Command.class, "LayerSolver");
    /** Inference workers, several per node with the "worker" role. */
    public static final ServiceKey<InferenceWorker.Command> WORKERS = ServiceKey.create(InferenceWorker.Command.class, "iteris-inference-worker");
    /** One node agent per node: describes the node, drops ended jobs' state. */
    public static final ServiceKey<NodeAgent.Command> NODE_AGENTS = ServiceKey.create(NodeAgent.Command.class, "iteris-node-agent");

    private Entities() {
    }

    /** The persistence id of a job's supervisor, whose journal is the job's event log. */
    public static PersistenceId supervisorPersistenceId(String jobId) {
        return PersistenceId.ofUniqueId("iteris-job-" + jobId);
    }

    public static String solverId(String jobId, String layer) {
        return jobId + "|" + layer;
    }

    /** The layer of a solver's entity id. */
    public static String layerOf(String solverId) {
        return solverId.substring(solverId.indexOf('|') + 1);
    }

    /** The job of a solver's entity id. */
    public static String jobOf(String solverId) {
        return solverId.substring(0, solverId.indexOf('|'));
    }

    /** Sends to a job's supervisor wherever in the cluster it lives (or is restarted). */
    public static void tellSupervisor(ActorSystem<?> system, String jobId, MergeSupervisor.Command msg) {
        ClusterSharding.get(system).entityRefFor(SUPERVISOR, jobId).tell(msg);
    }

    /** Sends to the solver of one layer of a job, wherever it lives. */
    public static void tellSolver(ActorSystem<?> system, String jobId, String layer, LayerSolver.Command msg) {
        ClusterSharding.get(system).entityRefFor(SOLVER, solverId(jobId, layer)).tell(msg);
    }
}
