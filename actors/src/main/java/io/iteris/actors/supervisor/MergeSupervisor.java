package io.iteris.actors.supervisor;

import io.iteris.actors.Entities;
import io.iteris.actors.Wire;
import io.iteris.actors.node.NodeAgent;
import io.iteris.actors.worker.InferenceWorker;
import io.iteris.actors.metrics.NodeMetrics;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.core.engine.IterationPolicy;
import io.iteris.protocol.DescribeLayer;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerFailed;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.PublishFinished;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.persistence.typed.EventAdapter;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotFailed;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Runs one merge job, event-sourced (its journal is the job's event log) and sharded by job id with
 * remember-entities, so when its node dies it comes back on another and resumes from its journal: a completed
 * iteration is never redone, and none is lost. It plans each iteration's work units (task × shard), hands them
 * to inference workers found through the Receptionist, asks every layer's solver to solve once all units are
 * done, and publishes the merged adapter after the last solve. Every step is an event.
 *
 * <p>States, each with its own handlers: new (nothing accepted), running (an iteration in progress), publishing
 * (the output being written, off the actor), finished (completed or failed: it tells every node the job ended,
 * then passivates, so remember-entities forgets it). Restarts after its own errors are journaled and bounded.
 */
public final class MergeSupervisor extends EventSourcedBehavior<MergeSupervisor.Command, SupervisorEvent, SupervisorState> {
    /** What a supervisor is told; what it journals is a {@link SupervisorEvent}. */
    public sealed interface Command {}

    /** Run this job (a repeat is harmless) and tell {@code replyTo} how it goes, to its end. */
    public record Submit(JobSpec spec, Optional<ActorRef<JobProgress>> replyTo) implements Command, Wire {}

    /** From a worker: a unit's statistics all reached their solvers. */
    public record UnitDone(WorkUnitDone done) implements Command, Wire {}

    /** From a worker: a unit could not be computed or sent. */
    public record UnitFailed(WorkUnitFailed failed) implements Command, Wire {}

    /** From a solver: a layer solved. */
    public record Solved(LayerSolved result) implements Command, Wire {}

    /** From a solver: the units whose statistics it lacks. */
    public record Missing(MissingStatistics missing) implements Command, Wire {}

    /** From a solver: a solve failed. */
    public record SolveFailed(LayerFailed failure) implements Command, Wire {}

    /** From a solver that does not know its job: which job is it? */
    public record Describe(DescribeLayer question) implements Command, Wire {}

    // its own: the Receptionist's listings, its timer, the resumption after a recovery, how publishing went
    private record WorkersListed(Map<String, ActorRef<InferenceWorker.Command>> workers) implements Command {}
    private record AgentsListed(List<ActorRef<NodeAgent.Command>> agents) implements Command {}
    private enum Tick implements Command { INSTANCE }
    private enum Resume implements Command { INSTANCE }
    private record Published(PublishFinished outcome) implements Command {}

    public static void initSharding(ActorSystem<?> system, EngineSettings settings) {
        ClusterSharding.get(system).init(Entity.of(Entities.SUPERVISOR, ctx -> create(ctx.getEntityId(), settings,
                        self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self))))
                .withRole("supervisor"));
    }

    /** @param passivate how the supervisor asks its shard to stop it for good */
    public static Behavior<Command> create(String jobId, EngineSettings settings, Consumer<ActorRef<Command>> passivate) {
        // Any unexpected failure restarts the supervisor, which recovers from its journal and resumes (up to
        // max-supervisor-restarts); the error that caused it outlives the failed incarnation for the journal.
        AtomicReference<String> lastError = new AtomicReference<>("");
        Behavior<Command> inner = Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.tickInterval());
            subscribe(ctx);
            return new MergeSupervisor(ctx, jobId, settings, passivate, lastError);
        }));
        return Behaviors.supervise(ErrorRecorder.wrap(inner, lastError))
                .onFailure(SupervisorStrategy.restartWithBackoff(settings.restartBackoffMin(), settings.restartBackoffMax(), 0.2));
    }

    /** Follows the inference workers and the node agents (one adapter: a second for the same class would replace it). */
    private static void subscribe(ActorContext<Command> ctx) {
        ActorRefResolver refs = ActorRefResolver.get(ctx.getSystem());
        ActorRef<Receptionist.Listing> adapter = ctx.messageAdapter(Receptionist.Listing.class, listing -> {
            if (listing.isForKey(Entities.WORKERS)) {
                // by the serialization format, the workers' names in the journal
                Map<String, ActorRef<InferenceWorker.Command>> workers = new TreeMap<>();
                listing.getServiceInstances(Entities.WORKERS).forEach(w -> workers.put(refs.toSerializationFormat(w), w));
                return new WorkersListed(workers);
            }
            return new AgentsListed(List.copyOf(listing.getServiceInstances(Entities.NODE_AGENTS)));
        });
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(Entities.WORKERS, adapter));
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(Entities.NODE_AGENTS, adapter));
    }

    private final ActorContext<Command> ctx;
    private final String jobId;
    private final EngineSettings settings;
    private final Consumer<ActorRef<Command>> passivate;
    private final AtomicReference<String> lastError;
    private final EventLog events;
    private final JobOutbox outbox;
    private final Set<ActorRef<JobProgress>> subscribers = new LinkedHashSet<>();
    /** The workers listed now, by their names in the journal. */
    private Map<String, ActorRef<InferenceWorker.Command>> workers = Map.of();
    /** The node agents as last listed, and whether the Receptionist has listed them yet (a revived finished job waits for it). */
    private List<ActorRef<NodeAgent.Command>> nodeAgents = List.of();
    private boolean agentsListed;
    private long solveRequestedAt = Long.MAX_VALUE;
    private IterationPolicy policy;

    private MergeSupervisor(ActorContext<Command> ctx, String jobId, EngineSettings settings, Consumer<ActorRef<Command>> passivate,
                            AtomicReference<String> lastError) {
        // a journal write that fails is not known to be lost or kept: the supervisor stops, backs off and recovers from
        // what the journal holds (Pekko's rule for persist failures; the restart above covers only its own errors)
        super(Entities.supervisorPersistenceId(jobId),
                SupervisorStrategy.restartWithBackoff(settings.restartBackoffMin(), settings.restartBackoffMax(), 0.2));
        this.ctx = ctx;
        this.jobId = jobId;
        this.settings = settings;
        this.passivate = passivate;
        this.lastError = lastError;
        this.events = new EventLog(jobId, ctx.getSystem().address().toString(), NodeMetrics.get(ctx.getSystem()));
        this.outbox = new JobOutbox(ctx.getSystem(), jobId);
    }

    @Override
    public SupervisorState emptyState() {
        return new SupervisorState();
    }

    @Override
    public CommandHandler<Command, SupervisorEvent, SupervisorState> commandHandler() {
        var b = newCommandHandlerBuilder();
        b.forState(s -> s.status() == SupervisorState.Status.NEW)
                .onCommand(Submit.class, this::onSubmitJob)
                .onCommand(WorkersListed.class, (s, c) -> record(c))
                .onCommand(AgentsListed.class, (s, c) -> record(c))
                .onCommand(Tick.class, (s, c) -> Effect().none())
                .onCommand(Describe.class, (s, c) -> {
                    outbox.endSolver(c.question().getLayer());
                    return stop();
                })
                // anything else is about a job this journal never accepted
                .onAnyCommand((s, c) -> stop());
        b.forState(SupervisorState::running)
                .onCommand(Submit.class, this::onSubscribe)
                .onCommand(WorkersListed.class, this::onWorkersChanged)
                .onCommand(AgentsListed.class, (s, c) -> record(c))
                .onCommand(UnitDone.class, (s, c) -> carryOut(Decide.unitDone(s, c.done())))
                .onCommand(UnitFailed.class, (s, c) -> carryOut(Decide.unitFailed(s, c.failed(), workerNames())))
                .onCommand(Missing.class, (s, c) -> carryOut(Decide.missing(s, c.missing(), workerNames())))
                .onCommand(Solved.class, (s, c) -> onLayerSolved(s, c.result()))
                .onCommand(SolveFailed.class, (s, c) -> fail("layer " + c.failure().getLayer() + ": " + c.failure().getReason()))
                .onCommand(Describe.class, (s, c) -> Effect().none().thenRun(st -> outbox.tellSolver(st.spec(), c.question().getLayer())))
                .onCommand(Tick.class, this::onTick)
                .onCommand(Resume.class, this::onResume)
                .onAnyCommand((s, c) -> Effect().unhandled());
        b.forState(SupervisorState::publishing)
                .onCommand(Submit.class, this::onSubscribe)
                .onCommand(WorkersListed.class, (s, c) -> record(c))
                .onCommand(AgentsListed.class, (s, c) -> record(c))
                .onCommand(Published.class, (s, c) -> onPublished(s, c.outcome()))
                .onCommand(Resume.class, this::onResume)
                // units, solves and questions of the last iteration come late: nothing to do
                .onAnyCommand((s, c) -> Effect().none());
        b.forState(SupervisorState::finished)
                .onCommand(Submit.class, this::onSubscribe)
                .onCommand(WorkersListed.class, (s, c) -> record(c))
                .onCommand(AgentsListed.class, (s, c) -> {
                    boolean first = !agentsListed;
                    record(c);
                    // revived after the end (a late message, a restart): tell every node again, then stop
                    return first ? Effect().none().thenRun(this::end) : Effect().none();
                })
                .onCommand(Describe.class, (s, c) -> Effect().none().thenRun(st -> outbox.endSolver(c.question().getLayer())))
                .onAnyCommand((s, c) -> Effect().none());
        return b.build();
    }

    @Override
    public EventHandler<SupervisorState, SupervisorEvent> eventHandler() {
        return newEventHandlerBuilder().forAnyState().onAnyEvent(SupervisorState::apply);
    }

    /** Snapshots bound a long job's recovery; events are kept, for the journal is the job's event log. */
    @Override
    public RetentionCriteria retentionCriteria() {
        return settings.snapshotEvery() > 0 ? RetentionCriteria.snapshotEvery(settings.snapshotEvery(), settings.snapshotsKept())
                : RetentionCriteria.disabled();
    }

    /** The journal keeps the Protobuf messages, as it always did. */
    @Override
    public EventAdapter<SupervisorEvent, ?> eventAdapter() {
        return SupervisorEvent.ADAPTER;
    }

    @Override
    public SignalHandler<SupervisorState> signalHandler() {
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.class, (state, signal) -> {
            if (state.running() || state.publishing()) {
                ctx.getLog().info("job {} recovered at iteration {}{}; resuming", jobId, state.iteration() + 1,
                        state.publishing() ? " (publishing)" : "");
                ctx.getSelf().tell(Resume.INSTANCE);
            }
        }).onSignal(SnapshotFailed.class, (state, failed) ->
                // harmless to the job (its events are all kept), but a recovery will replay more of them
                ctx.getLog().warn("job {}: a snapshot could not be saved: {}", jobId, ErrorRecorder.describe(failed.getFailure()))
        ).build();
    }

    // ---- new

    private Effect<SupervisorEvent, SupervisorState> onSubmitJob(SupervisorState state, Submit cmd) {
        subscribe(cmd);
        JobSpec spec = cmd.spec();
        if (!JobSpecs.validJobId(jobId) || !spec.getJobId().equals(jobId)) {
            JobProgress refused = JobProgress.newBuilder().setJobId(spec.getJobId()).setFailed(true)
                    .setMessage("failed: " + JobSpecs.jobIdProblem(spec.getJobId())).build();
            return Effect().none().thenRun(s -> subscribers.forEach(r -> r.tell(refused)))
                    .thenRun(s -> passivate.accept(ctx.getSelf()));
        }
        return carryOut(Decide.submitted(spec, JobSpecs.problem(spec, settings, ctx.getSystem().address().toString()), workerNames()));
    }

    // ---- any accepted state

    private void subscribe(Submit cmd) {
        cmd.replyTo().ifPresent(subscribers::add);
    }

    private Effect<SupervisorEvent, SupervisorState> onSubscribe(SupervisorState state, Submit cmd) {
        subscribe(cmd);
        return Effect().none().thenRun(s -> Progress.send(ctx, subscribers, s, "job already accepted"));
    }

    private Effect<SupervisorEvent, SupervisorState> record(WorkersListed c) {
        workers = c.workers();
        outbox.workers(workers);
        return Effect().none();
    }

    private Effect<SupervisorEvent, SupervisorState> record(AgentsListed c) {
        nodeAgents = c.agents();
        agentsListed = true;
        return Effect().none();
    }

    /** The workers' names (as the journal has them), in order. */
    private List<String> workerNames() {
        return List.copyOf(workers.keySet());
    }

    /** After a recovery: journal it (and why, after an error of our own), then pick up where the journal ends. */
    private Effect<SupervisorEvent, SupervisorState> onResume(SupervisorState state, Resume cmd) {
        return carryOut(Decide.resumed(state, lastError.getAndSet(""), ctx.getSystem().address().toString(),
                settings.maxSupervisorRestarts(), System.currentTimeMillis()));
    }

    // ---- running

    private Effect<SupervisorEvent, SupervisorState> onWorkersChanged(SupervisorState state, WorkersListed cmd) {
        boolean lost = !cmd.workers().keySet().containsAll(workers.keySet());
        record(cmd);
        if (lost && state.allUnitsDone() && !state.allLayersSolved()) {
            // a node went away: a solve request may have died with it, so ask again rather than wait for the timeout
            return Effect().none().thenRun(this::requestSolves);
        }
        return rebalance(state);
    }

    private Effect<SupervisorEvent, SupervisorState> onTick(SupervisorState state, Tick tick) {
        if (state.allUnitsDone() && !state.allLayersSolved()
                && System.currentTimeMillis() - solveRequestedAt > settings.solveTimeout().toMillis()) {
            return Effect().none().thenRun(this::requestSolves);
        }
        return rebalance(state);
    }

    /** Gives units to workers: those never assigned, and those whose worker left or is overdue. */
    private Effect<SupervisorEvent, SupervisorState> rebalance(SupervisorState state) {
        return carryOut(Decide.rebalance(state, workerNames(), settings.unitTimeout().toMillis()));
    }

    private Effect<SupervisorEvent, SupervisorState> onLayerSolved(SupervisorState state, LayerSolved cmd) {
        if (cmd.getIteration() == state.iteration() && !state.solved().containsKey(cmd.getLayer())) {
            settings.faults().onLayerSolved();
        }
        policy = policy != null ? policy : new IterationPolicy(JobSpecs.method(state.spec()));
        return carryOut(Decide.layerSolved(state, cmd, policy, workerNames()));
    }

    private void requestSolves(SupervisorState s) {
        solveRequestedAt = System.currentTimeMillis();
        outbox.requestSolves(s);
    }

    // ---- publishing

    /** Writes the merged adapter off the actor (on the blocking dispatcher); the outcome comes back as {@link Published}. */
    private void publish(SupervisorState s) {
        // the state is immutable: the publisher, on another thread, reads it as the job goes on
        ctx.pipeToSelf(JobFinisher.publishAsync(s, jobId, settings, ctx.getSystem()), (outcome, e) -> new Published(outcome));
    }

    private Effect<SupervisorEvent, SupervisorState> onPublished(SupervisorState state, PublishFinished done) {
        if (!done.getOk()) {
            ctx.getLog().error("job {}: publishing the output failed: {}", jobId, done.getError());
            return fail("publishing the output failed: " + done.getError());
        }
        return persist(List.of(new SupervisorEvent.Completed(JobCompleted.newBuilder().setOutputPath(state.spec().getOutputPath())
                .setAtMillis(done.getAtMillis()).build())), List.of());
    }

    // ---- finishing

    private EffectBuilder<SupervisorEvent, SupervisorState> fail(String reason) {
        return persist(List.of(new SupervisorEvent.Failed(JobFailed.newBuilder().setReason(reason)
                .setAtMillis(System.currentTimeMillis()).build())), List.of());
    }

    /** The job is over: every node and solver hears it, then this supervisor stops for good. */
    private void end(SupervisorState s) {
        // solvers exist only once an iteration started (a job refused at submission never had any)
        outbox.announceEnd(s.iteration() >= 0 ? s.spec() : null, nodeAgents);
        passivate.accept(ctx.getSelf());
    }

    private EffectBuilder<SupervisorEvent, SupervisorState> stop() {
        return Effect().none().thenRun(s -> passivate.accept(ctx.getSelf()));
    }

    /** Persists a decision's events and carries out its acts, or fails the job with its reason. */
    private EffectBuilder<SupervisorEvent, SupervisorState> carryOut(Decide.Decision d) {
        if (d.failure() != null) {
            return fail(d.failure());
        }
        return d.events().isEmpty() ? Effect().none() : persist(d.events(), d.acts());
    }

    /** Persists events, then logs them, carries out the acts, and tells the subscribers. */
    private EffectBuilder<SupervisorEvent, SupervisorState> persist(List<SupervisorEvent> evs, List<Decide.Act> acts) {
        return Effect().persist(evs).thenRun(s -> {
            evs.forEach(e -> events.log(e.message()));
            for (Decide.Act act : acts) {
                if (act instanceof Decide.SendUnit u) {
                    outbox.sendUnit(s, s.units().get(u.unit()));
                } else if (act == Decide.Step.INTRODUCE_SOLVERS) {
                    outbox.introduceSolvers(s.spec());
                } else if (act == Decide.Step.RESEND_UNITS) {
                    outbox.resendUnits(s);
                } else if (act == Decide.Step.REQUEST_SOLVES) {
                    requestSolves(s);
                } else if (act == Decide.Step.PUBLISH) {
                    publish(s);
                }
            }
            Progress.send(ctx, subscribers, s, Progress.describe(evs));
            if (s.finished()) {
                end(s);
            }
        });
    }
}
