package io.iteris.actors.supervisor;

import io.iteris.actors.Entities;
import io.iteris.actors.node.NodeAgent;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.worker.InferenceWorker;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.SolveLayer;
import io.iteris.protocol.SolverJob;
import io.iteris.protocol.WorkUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** What a job's supervisor sends to the rest of the cluster: units to workers, requests to solvers, the job's end to every node. */
final class JobOutbox {
    private final ActorSystem<?> system;
    private final ActorRefResolver refs;
    private Map<String, ActorRef<InferenceWorker.Command>> workers = Map.of();
    private final String jobId;

    JobOutbox(ActorSystem<?> system, String jobId) {
        this.system = system;
        this.refs = ActorRefResolver.get(system);
        this.jobId = jobId;
    }

    /** The workers listed now, by name: a unit goes to its worker's ref without resolving the name again. */
    void workers(Map<String, ActorRef<InferenceWorker.Command>> listed) {
        workers = listed;
    }

    void sendUnit(SupervisorState s, SupervisorState.Unit u) {
        ActorRef<InferenceWorker.Command> worker = workers.get(u.worker());
        // a unit assigned before a recovery may name a worker not listed yet: its name is its serialized ref
        (worker != null ? worker : refs.<InferenceWorker.Command>resolveActorRef(u.worker())).tell(new InferenceWorker.Assign(WorkUnit.newBuilder()
                .setSpec(s.spec()).setUnit(u.id()).setIncludeG(u.includeG()).setAttempt(u.attempt()).putAllWeights(s.weights()).build()));
    }

    /** Every assigned unit not yet done, again (after a recovery: the old incarnation's may have been lost). */
    void resendUnits(SupervisorState s) {
        for (SupervisorState.Unit u : s.units().values()) {
            if (!u.done() && u.worker() != null) {
                sendUnit(s, u);
            }
        }
    }

    /** Tells each solver which job it solves for, so it can check statistics before they arrive. */
    void introduceSolvers(JobSpec spec) {
        for (String layer : JobSpecs.statisticsLayers(spec)) {
            tellSolver(spec, layer);
        }
    }

    /** To the solver of a layer: the solver of the layer whose statistics it shares. */
    void tellSolver(JobSpec spec, String layer) {
        Entities.tellSolver(system, jobId, JobSpecs.statisticsLayer(spec, layer),
                new LayerSolver.Introduce(SolverJob.newBuilder().setSpec(spec).setLayer(layer).build()));
    }

    /** Asks every layer not yet solved in this iteration for its solution. */
    void requestSolves(SupervisorState s) {
        Set<String> pending = new HashSet<>(s.spec().getLayersList());
        pending.removeAll(s.solved().keySet());
        for (String layer : pending) {
            Entities.tellSolver(system, jobId, JobSpecs.statisticsLayer(s.spec(), layer), new LayerSolver.Solve(SolveLayer.newBuilder()
                    .setSpec(s.spec()).setLayer(layer).setIteration(s.iteration()).setPreviousHash(s.weights().getOrDefault(layer, ""))
                    .build(), Optional.empty()));
        }
    }

    /** The job is over: its solvers (when {@code spec} is given: it had some) passivate, every node drops what it keeps of it. */
    void announceEnd(JobSpec spec, List<ActorRef<NodeAgent.Command>> nodeAgents) {
        LayerSolver.EndJob ended = new LayerSolver.EndJob(jobId);
        if (spec != null) {
            for (String layer : JobSpecs.statisticsLayers(spec)) {
                Entities.tellSolver(system, jobId, layer, ended);
            }
        }
        for (ActorRef<NodeAgent.Command> agent : nodeAgents) {
            agent.tell(new NodeAgent.EndJob(jobId));
        }
    }

    /** To one solver that asked about a job that is over (or never was). */
    void endSolver(String layer) {
        Entities.tellSolver(system, jobId, layer, new LayerSolver.EndJob(jobId));
    }
}
