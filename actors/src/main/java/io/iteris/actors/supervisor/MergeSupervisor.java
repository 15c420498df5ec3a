package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import io.iteris.actors.Entities;
import io.iteris.actors.metrics.NodeMetrics;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.cluster.JobSpecs;
import io.iteris.core.engine.IterationPolicy;
import io.iteris.protocol.DescribeLayer;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobProgress;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerFailed;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.NodesListed;
import io.iteris.protocol.PublishFinished;
import io.iteris.protocol.ReassignCause;
import io.iteris.protocol.ResumeJob;
import io.iteris.protocol.SubmitJob;
import io.iteris.protocol.SupervisorTick;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import io.iteris.protocol.WorkersChanged;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
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
public final class MergeSupervisor extends EventSourcedBehavior<Message, Message, SupervisorState> {

    public static void initSharding(ActorSystem<?> system, EngineSettings settings) {
        ClusterSharding.get(system).init(Entity.of(Entities.SUPERVISOR, ctx -> create(ctx.getEntityId(), settings,
                        self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self))))
                .withRole("supervisor"));
    }

    /** @param passivate how the supervisor asks its shard to stop it for good */
    public static Behavior<Message> create(String jobId, EngineSettings settings, Consumer<ActorRef<Message>> passivate) {
        // Any unexpected failure restarts the supervisor, which recovers from its journal and resumes (up to
        // max-supervisor-restarts); the error that caused it outlives the failed incarnation for the journal.
        AtomicReference<String> lastError = new AtomicReference<>("");
        Behavior<Message> inner = Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(SupervisorTick.getDefaultInstance(), settings.tickInterval());
            subscribe(ctx);
            return new MergeSupervisor(ctx, jobId, settings, passivate, lastError);
        }));
        return Behaviors.supervise(ErrorRecorder.wrap(inner, lastError))
                .onFailure(SupervisorStrategy.restartWithBackoff(settings.restartBackoffMin(), settings.restartBackoffMax(), 0.2));
    }

    /** Follows the inference workers and the node agents (one adapter: a second for the same class would replace it). */
    private static void subscribe(ActorContext<Message> ctx) {
        ActorRefResolver refs = ActorRefResolver.get(ctx.getSystem());
        ActorRef<Receptionist.Listing> adapter = ctx.messageAdapter(Receptionist.Listing.class, listing -> {
            if (listing.isForKey(Entities.WORKERS)) {
                return WorkersChanged.newBuilder().addAllWorkers(listing.getServiceInstances(Entities.WORKERS).stream()
                        .map(refs::toSerializationFormat).sorted().toList()).build();
            }
            return NodesListed.newBuilder().addAllAgents(listing.getServiceInstances(Entities.NODE_AGENTS).stream()
                    .map(refs::toSerializationFormat).sorted().toList()).build();
        });
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(Entities.WORKERS, adapter));
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(Entities.NODE_AGENTS, adapter));
    }

    private final ActorContext<Message> ctx;
    private final String jobId;
    private final EngineSettings settings;
    private final Consumer<ActorRef<Message>> passivate;
    private final AtomicReference<String> lastError;
    private final ActorRefResolver refs;
    private final EventLog events;
    private final JobOutbox outbox;
    private final Set<String> subscribers = new LinkedHashSet<>();
    private List<String> workers = List.of();
    private List<String> nodeAgents;
    private long solveRequestedAt = Long.MAX_VALUE;
    private IterationPolicy policy;

    private MergeSupervisor(ActorContext<Message> ctx, String jobId, EngineSettings settings, Consumer<ActorRef<Message>> passivate,
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
        this.refs = ActorRefResolver.get(ctx.getSystem());
        this.events = new EventLog(jobId, ctx.getSystem().address().toString(), NodeMetrics.get(ctx.getSystem()));
        this.outbox = new JobOutbox(ctx.getSystem(), jobId);
    }

    @Override
    public SupervisorState emptyState() {
        return new SupervisorState();
    }

    @Override
    public CommandHandler<Message, Message, SupervisorState> commandHandler() {
        var b = newCommandHandlerBuilder();
        b.forState(s -> s.status() == SupervisorState.Status.NEW)
                .onCommand(SubmitJob.class, this::onSubmitJob)
                .onCommand(WorkersChanged.class, (s, c) -> record(c))
                .onCommand(NodesListed.class, (s, c) -> record(c))
                .onCommand(DescribeLayer.class, (s, c) -> {
                    outbox.endSolver(c.getLayer());
                    return stop();
                })
                // anything else is about a job this journal never accepted
                .onAnyCommand((s, c) -> c instanceof SupervisorTick ? Effect().none() : stop());
        b.forState(SupervisorState::running)
                .onCommand(SubmitJob.class, this::onSubscribe)
                .onCommand(WorkersChanged.class, this::onWorkersChanged)
                .onCommand(NodesListed.class, (s, c) -> record(c))
                .onCommand(WorkUnitDone.class, this::onWorkUnitDone)
                .onCommand(WorkUnitFailed.class, this::onWorkUnitFailed)
                .onCommand(MissingStatistics.class, this::onMissingStatistics)
                .onCommand(LayerSolved.class, this::onLayerSolved)
                .onCommand(LayerFailed.class, (s, c) -> fail("layer " + c.getLayer() + ": " + c.getReason()))
                .onCommand(DescribeLayer.class, (s, c) -> Effect().none().thenRun(st -> outbox.tellSolver(st.spec(), c.getLayer())))
                .onCommand(SupervisorTick.class, this::onTick)
                .onCommand(ResumeJob.class, this::onResume)
                .onAnyCommand((s, c) -> Effect().unhandled());
        b.forState(SupervisorState::publishing)
                .onCommand(SubmitJob.class, this::onSubscribe)
                .onCommand(WorkersChanged.class, (s, c) -> record(c))
                .onCommand(NodesListed.class, (s, c) -> record(c))
                .onCommand(PublishFinished.class, this::onPublished)
                .onCommand(DescribeLayer.class, (s, c) -> Effect().none())
                .onCommand(ResumeJob.class, this::onResume)
                .onAnyCommand((s, c) -> Effect().none());
        b.forState(SupervisorState::finished)
                .onCommand(SubmitJob.class, this::onSubscribe)
                .onCommand(WorkersChanged.class, (s, c) -> record(c))
                .onCommand(NodesListed.class, (s, c) -> {
                    boolean first = nodeAgents == null;
                    nodeAgents = c.getAgentsList();
                    // revived after the end (a late message, a restart): tell every node again, then stop
                    return first ? Effect().none().thenRun(this::end) : Effect().none();
                })
                .onCommand(DescribeLayer.class, (s, c) -> Effect().none().thenRun(st -> outbox.endSolver(c.getLayer())))
                .onAnyCommand((s, c) -> Effect().none());
        return b.build();
    }

    @Override
    public EventHandler<SupervisorState, Message> eventHandler() {
        return newEventHandlerBuilder().forAnyState().onAnyEvent(SupervisorState::apply);
    }

    @Override
    public SignalHandler<SupervisorState> signalHandler() {
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.class, (state, signal) -> {
            if (state.running() || state.publishing()) {
                ctx.getLog().info("job {} recovered at iteration {}{}; resuming", jobId, state.iteration() + 1,
                        state.publishing() ? " (publishing)" : "");
                ctx.getSelf().tell(ResumeJob.getDefaultInstance());
            }
        }).build();
    }

    // ---- new

    private Effect<Message, SupervisorState> onSubmitJob(SupervisorState state, SubmitJob cmd) {
        subscribe(cmd);
        JobSpec spec = cmd.getSpec();
        if (!JobSpecs.validJobId(jobId) || !spec.getJobId().equals(jobId)) {
            JobProgress refused = JobProgress.newBuilder().setJobId(spec.getJobId()).setFailed(true)
                    .setMessage("failed: " + JobSpecs.jobIdProblem(spec.getJobId())).build();
            return Effect().none().thenRun(s -> subscribers.forEach(r -> refs.<Message>resolveActorRef(r).tell(refused)))
                    .thenRun(s -> passivate.accept(ctx.getSelf()));
        }
        return persist(WorkPlan.accept(spec, JobSpecs.problem(spec, settings, ctx.getSystem().address().toString()), workers));
    }

    // ---- any accepted state

    private void subscribe(SubmitJob cmd) {
        if (!cmd.getReplyTo().isEmpty()) {
            subscribers.add(cmd.getReplyTo());
        }
    }

    private Effect<Message, SupervisorState> onSubscribe(SupervisorState state, SubmitJob cmd) {
        subscribe(cmd);
        return Effect().none().thenRun(s -> Progress.send(ctx, refs, subscribers, s, "job already accepted"));
    }

    private Effect<Message, SupervisorState> record(WorkersChanged c) {
        workers = List.copyOf(c.getWorkersList());
        return Effect().none();
    }

    private Effect<Message, SupervisorState> record(NodesListed c) {
        nodeAgents = List.copyOf(c.getAgentsList());
        return Effect().none();
    }

    /** After a recovery: journal it (and why, after an error of our own), then pick up where the journal ends. */
    private Effect<Message, SupervisorState> onResume(SupervisorState state, ResumeJob cmd) {
        String error = lastError.getAndSet("");
        List<Message> evs = new ArrayList<>();
        evs.add(JobResumed.newBuilder().setNode(ctx.getSystem().address().toString()).setIteration(state.iteration())
                .setAtMillis(System.currentTimeMillis()).setError(error).build());
        int restarts = state.restarts() + (error.isEmpty() ? 0 : 1);
        if (restarts > settings.maxSupervisorRestarts()) {
            evs.add(JobFailed.newBuilder().setReason("the supervisor failed " + restarts + " times (iteris.engine.max-supervisor-restarts = "
                    + settings.maxSupervisorRestarts() + "); last error: " + error).setAtMillis(System.currentTimeMillis()).build());
            return persist(evs);
        }
        return persist(evs).thenRun(s -> {
            if (s.running()) {
                outbox.introduceSolvers(s.spec());
                outbox.resendUnits(s);
                if (s.allUnitsDone() && !s.allLayersSolved()) {
                    requestSolves(s);
                }
            } else if (s.publishing()) {
                publish(s);
            }
        });
    }

    // ---- running

    private Effect<Message, SupervisorState> onWorkersChanged(SupervisorState state, WorkersChanged cmd) {
        boolean lost = !cmd.getWorkersList().containsAll(workers);
        record(cmd);
        if (lost && state.allUnitsDone() && !state.allLayersSolved()) {
            // a node went away: a solve request may have died with it, so ask again rather than wait for the timeout
            return Effect().none().thenRun(this::requestSolves);
        }
        return rebalance(state);
    }

    private Effect<Message, SupervisorState> onTick(SupervisorState state, SupervisorTick tick) {
        if (state.allUnitsDone() && !state.allLayersSolved()
                && System.currentTimeMillis() - solveRequestedAt > settings.solveTimeout().toMillis()) {
            return Effect().none().thenRun(this::requestSolves);
        }
        return rebalance(state);
    }

    /** Gives units to workers: those never assigned, and those whose worker left or is overdue. */
    private Effect<Message, SupervisorState> rebalance(SupervisorState state) {
        List<Message> evs = WorkPlan.rebalance(state, workers, settings.unitTimeout().toMillis());
        return evs.isEmpty() ? Effect().none() : persist(evs);
    }

    private Effect<Message, SupervisorState> onWorkUnitDone(SupervisorState state, WorkUnitDone cmd) {
        SupervisorState.Unit u = state.units().get(SupervisorState.key(cmd.getUnit()));
        if (u == null || u.done) {
            return Effect().none();
        }
        return persist(List.of(WorkUnitCompleted.newBuilder().setUnit(cmd.getUnit()).setWorker(cmd.getWorker())
                .setInferenceNanos(cmd.getInferenceNanos()).setBytesSent(cmd.getBytesSent()).build()))
                .thenRun(s -> {
                    if (s.allUnitsDone()) {
                        requestSolves(s);
                    }
                });
    }

    private Effect<Message, SupervisorState> onWorkUnitFailed(SupervisorState state, WorkUnitFailed cmd) {
        SupervisorState.Unit u = state.units().get(SupervisorState.key(cmd.getUnit()));
        if (u == null || u.done) {
            return Effect().none();
        }
        String fatal = UnitRetries.failed(u, cmd.getReason());
        if (fatal != null) {
            return fail(fatal);
        }
        return reassign(state, List.of(MissingUnit.newBuilder().setUnit(cmd.getUnit()).setIncludeG(u.includeG).build()),
                ReassignCause.CAUSE_FAILED, "failed: " + cmd.getReason());
    }

    private Effect<Message, SupervisorState> onMissingStatistics(SupervisorState state, MissingStatistics cmd) {
        if (cmd.getIteration() != state.iteration()) {
            return Effect().none();
        }
        List<MissingUnit> needed = WorkPlan.needed(state, cmd.getMissingList());
        for (MissingUnit m : needed) {
            String fatal = UnitRetries.refilled(state.units().get(SupervisorState.key(m.getUnit())), cmd.getLayer());
            if (fatal != null) {
                return fail(fatal);
            }
        }
        return needed.isEmpty() ? Effect().none()
                : reassign(state, needed, ReassignCause.CAUSE_REFILL, "solver of " + cmd.getLayer() + " lacks statistics");
    }

    private Effect<Message, SupervisorState> reassign(SupervisorState state, List<MissingUnit> units, ReassignCause cause, String reason) {
        return persist(WorkPlan.reassign(state, units, cause, reason, workers));
    }

    private Effect<Message, SupervisorState> onLayerSolved(SupervisorState state, LayerSolved cmd) {
        if (cmd.getIteration() != state.iteration() || state.solved().containsKey(cmd.getLayer())) {
            return Effect().none();
        }
        settings.faults().onLayerSolved();
        List<Message> evs = new ArrayList<>();
        evs.add(LayerSolvedRecorded.newBuilder().setResult(cmd).build());
        if (state.solved().size() + 1 < state.spec().getLayersCount()) {
            return persist(evs);
        }
        IterationCompleted completed = WorkPlan.completion(state, cmd);
        completed = completed.toBuilder().setLast(isLast(state, completed)).build();
        evs.add(completed);
        if (!completed.getLast()) {
            evs.addAll(WorkPlan.nextIteration(state, evs, workers));
        }
        return persist(evs);
    }

    private boolean isLast(SupervisorState state, IterationCompleted c) {
        if (policy == null) {
            policy = new IterationPolicy(JobSpecs.method(state.spec()));
        }
        return policy.isLast(c.getIteration(), c.getMaxRelativeChange());
    }

    private void requestSolves(SupervisorState s) {
        solveRequestedAt = System.currentTimeMillis();
        outbox.requestSolves(s);
    }

    // ---- publishing

    /** Writes the merged adapter off the actor (on the blocking dispatcher); the outcome comes back as {@link PublishFinished}. */
    private void publish(SupervisorState s) {
        Executor blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("iteris.blocking-dispatcher"));
        JobCache cache = JobCache.get(ctx.getSystem());
        // in the publishing state no event changes what the finisher reads (the spec and the solve history)
        CompletableFuture<Void> written = CompletableFuture.runAsync(() -> JobFinisher.publish(s, jobId, settings, cache), blocking);
        ctx.pipeToSelf(written, (ok, e) -> PublishFinished.newBuilder().setOk(e == null)
                .setError(e == null ? "" : ErrorRecorder.describe(e.getCause() != null ? e.getCause() : e))
                .setAtMillis(System.currentTimeMillis()).build());
    }

    private Effect<Message, SupervisorState> onPublished(SupervisorState state, PublishFinished done) {
        if (!done.getOk()) {
            ctx.getLog().error("job {}: publishing the output failed: {}", jobId, done.getError());
            return fail("publishing the output failed: " + done.getError());
        }
        return persist(List.of(JobCompleted.newBuilder().setOutputPath(state.spec().getOutputPath()).setAtMillis(done.getAtMillis()).build()));
    }

    // ---- finishing

    private Effect<Message, SupervisorState> fail(String reason) {
        return persist(List.of(JobFailed.newBuilder().setReason(reason).setAtMillis(System.currentTimeMillis()).build()));
    }

    /** The job is over: every node and solver hears it, then this supervisor stops for good. */
    private void end(SupervisorState s) {
        // solvers exist only once an iteration started (a job refused at submission never had any)
        outbox.announceEnd(s.iteration() >= 0 ? s.spec() : null, nodeAgents == null ? List.of() : nodeAgents);
        passivate.accept(ctx.getSelf());
    }

    private EffectBuilder<Message, SupervisorState> stop() {
        return Effect().none().thenRun(s -> passivate.accept(ctx.getSelf()));
    }

    /** Persists events, then logs them, sends what they call for, and tells the subscribers. */
    private EffectBuilder<Message, SupervisorState> persist(List<Message> evs) {
        return Effect().persist(evs).thenRun(s -> {
            for (Message e : evs) {
                events.log(e);
                if (e instanceof JobAccepted a && s.running()) {
                    outbox.introduceSolvers(a.getSpec());
                } else if (e instanceof WorkUnitAssigned a) {
                    outbox.sendUnit(s, s.units().get(SupervisorState.key(a.getUnit())));
                } else if (e instanceof IterationStarted && s.units().isEmpty()) {
                    requestSolves(s);
                } else if (e instanceof IterationCompleted c && c.getLast()) {
                    publish(s);
                }
            }
            Progress.send(ctx, refs, subscribers, s, Progress.describe(evs));
            if (s.finished()) {
                end(s);
            }
        });
    }
}
