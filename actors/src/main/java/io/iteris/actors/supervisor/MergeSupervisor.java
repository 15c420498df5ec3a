package io.iteris.actors.supervisor;

import com.google.protobuf.Message;
import io.iteris.actors.cluster.EngineSettings;
import io.iteris.actors.cluster.JobCache;
import io.iteris.actors.solver.LayerSolver;
import io.iteris.actors.worker.InferenceWorker;
import io.iteris.core.engine.LocalMergeEngine;
import io.iteris.protocol.IterationCompleted;
import io.iteris.protocol.IterationStarted;
import io.iteris.protocol.JobAccepted;
import io.iteris.protocol.JobCompleted;
import io.iteris.protocol.JobFailed;
import io.iteris.protocol.JobResumed;
import io.iteris.protocol.ResumeJob;
import io.iteris.protocol.JobSpec;
import io.iteris.protocol.LayerFailed;
import io.iteris.protocol.LayerSolved;
import io.iteris.protocol.LayerSolvedRecorded;
import io.iteris.protocol.MissingStatistics;
import io.iteris.protocol.MissingUnit;
import io.iteris.protocol.SolveLayer;
import io.iteris.protocol.SubmitJob;
import io.iteris.protocol.SupervisorTick;
import io.iteris.protocol.WatchJob;
import io.iteris.protocol.WorkUnit;
import io.iteris.protocol.WorkUnitAssigned;
import io.iteris.protocol.WorkUnitCompleted;
import io.iteris.protocol.WorkUnitDone;
import io.iteris.protocol.WorkUnitFailed;
import io.iteris.protocol.WorkUnitReassigned;
import io.iteris.protocol.WorkersChanged;
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
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs one merge job, event-sourced (persistence id {@code iteris-job-<id>}) and sharded by job id with
 * remember-entities, so when its node dies it comes back on another and resumes from its journal: a
 * completed iteration is never redone, and none is lost. It plans each iteration's work units (task × shard),
 * hands them to inference workers found through the Receptionist, asks every layer's solver to solve once
 * all units are done, and publishes the merged adapter after the last solve. Every step is an event.
 *
 * <p>Accepts: {@link SubmitJob}, {@link WatchJob}, {@link WorkersChanged}, {@link WorkUnitDone},
 * {@link WorkUnitFailed}, {@link MissingStatistics}, {@link LayerSolved}, {@link LayerFailed},
 * {@link SupervisorTick}, and from itself {@link JobCompleted} / {@link JobFailed} once publishing ends.
 */
public final class MergeSupervisor extends EventSourcedBehavior<Message, Message, SupervisorState> {
    public static final EntityTypeKey<Message> TYPE_KEY = EntityTypeKey.create(Message.class, "MergeSupervisor");

    public static void initSharding(ActorSystem<?> system, EngineSettings settings) {
        ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings))
                .withRole("supervisor")
                .withEntityProps(DispatcherSelector.fromConfig("iteris.compute-dispatcher")));
    }

    /** Sends to a job's supervisor wherever in the cluster it lives (or is restarted). */
    public static void tell(ActorSystem<?> system, String jobId, Message msg) {
        ClusterSharding.get(system).entityRefFor(TYPE_KEY, jobId).tell(msg);
    }

    public static PersistenceId persistenceId(String jobId) {
        return PersistenceId.ofUniqueId("iteris-job-" + jobId);
    }

    public static Behavior<Message> create(String jobId, EngineSettings settings) {
        // Any unexpected failure restarts the supervisor, which recovers from its journal and resumes; stopping
        // it instead would leave the job waiting for the next re-submission.
        return Behaviors.supervise(createUnsupervised(jobId, settings))
                .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(10), 0.2));
    }

    private static Behavior<Message> createUnsupervised(String jobId, EngineSettings settings) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(SupervisorTick.getDefaultInstance(), settings.tickInterval());
            ctx.getSystem().receptionist().tell(Receptionist.subscribe(InferenceWorker.SERVICE_KEY,
                    ctx.messageAdapter(Receptionist.Listing.class, listing -> workersOf(ctx, listing))));
            return new MergeSupervisor(ctx, jobId, settings);
        }));
    }

    private static Message workersOf(ActorContext<Message> ctx, Receptionist.Listing listing) {
        ActorRefResolver refs = ActorRefResolver.get(ctx.getSystem());
        WorkersChanged.Builder b = WorkersChanged.newBuilder();
        listing.getServiceInstances(InferenceWorker.SERVICE_KEY).forEach(r -> b.addWorkers(refs.toSerializationFormat(r)));
        return b.build();
    }

    private final ActorContext<Message> ctx;
    private final String jobId;
    private final EngineSettings settings;
    private final ActorRefResolver refs;
    private final EventLog events;
    private List<String> workers = List.of();
    private final Set<String> subscribers = new LinkedHashSet<>();
    private final UnitRetries retries = new UnitRetries();
    private long solveRequestedAt = Long.MAX_VALUE;
    private boolean resumePending;
    private boolean publishing;

    private MergeSupervisor(ActorContext<Message> ctx, String jobId, EngineSettings settings) {
        super(persistenceId(jobId));
        this.ctx = ctx;
        this.jobId = jobId;
        this.settings = settings;
        this.refs = ActorRefResolver.get(ctx.getSystem());
        this.events = new EventLog(jobId, ctx.getSystem().address().toString());
    }

    @Override
    public SupervisorState emptyState() {
        return new SupervisorState();
    }

    @Override
    public CommandHandler<Message, Message, SupervisorState> commandHandler() {
        return newCommandHandlerBuilder().forAnyState()
                .onCommand(SubmitJob.class, this::onSubmitJob)
                .onCommand(WatchJob.class, this::onWatchJob)
                .onCommand(WorkersChanged.class, this::onWorkersChanged)
                .onCommand(WorkUnitDone.class, this::onWorkUnitDone)
                .onCommand(WorkUnitFailed.class, this::onWorkUnitFailed)
                .onCommand(MissingStatistics.class, this::onMissingStatistics)
                .onCommand(LayerSolved.class, this::onLayerSolved)
                .onCommand(LayerFailed.class, (s, c) -> fail(s, "layer " + c.getLayer() + ": " + c.getReason()))
                .onCommand(SupervisorTick.class, this::onTick)
                .onCommand(ResumeJob.class, (s, c) -> s.running() ? persist(List.of(JobResumed.newBuilder()
                        .setNode(ctx.getSystem().address().toString()).setIteration(s.iteration())
                        .setAtMillis(System.currentTimeMillis()).build())) : Effect().none())
                .onCommand(JobCompleted.class, (s, c) -> s.running() ? persist(List.of(c)) : Effect().none())
                .onCommand(JobFailed.class, (s, c) -> fail(s, c.getReason()))
                .build();
    }

    @Override
    public EventHandler<SupervisorState, Message> eventHandler() {
        return newEventHandlerBuilder().forAnyState().onAnyEvent(SupervisorState::apply);
    }

    @Override
    public SignalHandler<SupervisorState> signalHandler() {
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.class, (state, signal) -> {
            resumePending = state.running();
            if (resumePending) {
                ctx.getLog().info("job {} recovered at iteration {}; resuming", jobId, state.iteration() + 1);
                ctx.getSelf().tell(ResumeJob.getDefaultInstance());
            }
        }).build();
    }

    private Effect<Message, SupervisorState> onSubmitJob(SupervisorState state, SubmitJob cmd) {
        if (!cmd.getReplyTo().isEmpty()) {
            subscribers.add(cmd.getReplyTo());
        }
        if (state.status() != SupervisorState.Status.NEW) {
            return Effect().none().thenRun(s -> Progress.send(ctx, refs, subscribers, s, "job already accepted"));
        }
        long now = System.currentTimeMillis();
        JobSpec spec = cmd.getSpec();
        SupervisorState planned = new SupervisorState().apply(JobAccepted.newBuilder().setSpec(spec).build())
                .apply(IterationStarted.newBuilder().setIteration(0).build());
        List<Message> evs = new ArrayList<>();
        evs.add(JobAccepted.newBuilder().setSpec(spec).setAtMillis(now).build());
        evs.add(IterationStarted.newBuilder().setIteration(0).setAtMillis(now).build());
        evs.addAll(WorkPlan.assignments(planned, workers));
        return persist(evs);
    }

    private Effect<Message, SupervisorState> onWatchJob(SupervisorState state, WatchJob cmd) {
        subscribers.add(cmd.getReplyTo());
        return Effect().none().thenRun(s -> Progress.send(ctx, refs, subscribers, s, "watching"));
    }

    private Effect<Message, SupervisorState> onWorkersChanged(SupervisorState state, WorkersChanged cmd) {
        boolean lost = !cmd.getWorkersList().containsAll(workers);
        workers = List.copyOf(cmd.getWorkersList());
        if (lost && state.running() && state.spec() != null && state.allUnitsDone() && !state.allLayersSolved()) {
            // a node went away: a solve request may have died with it, so ask again rather than wait for the timeout
            return Effect().none().thenRun(this::requestSolves);
        }
        return rebalance(state);
    }

    private Effect<Message, SupervisorState> onTick(SupervisorState state, SupervisorTick tick) {
        if (!state.running()) {
            return Effect().none();
        }
        if (state.allUnitsDone() && !state.allLayersSolved()
                && System.currentTimeMillis() - solveRequestedAt > settings.solveTimeout().toMillis()) {
            return Effect().none().thenRun(this::requestSolves);
        }
        return rebalance(state);
    }

    /**
     * Gives units to workers: those never assigned, those whose worker left or is overdue; after a recovery
     * also re-sends what may have been lost with the old incarnation.
     */
    private Effect<Message, SupervisorState> rebalance(SupervisorState state) {
        if (!state.running() || state.spec() == null) {
            return Effect().none();
        }
        boolean resume = resumePending && !workers.isEmpty();
        if (resume) {
            resumePending = false;
        }
        long now = System.currentTimeMillis();
        List<Message> evs = new ArrayList<>();
        SupervisorState view = WorkPlan.copyOf(state);
        for (SupervisorState.Unit u : view.units().values()) {
            if (u.done || u.worker == null) {
                continue;
            }
            boolean left = !workers.isEmpty() && !workers.contains(u.worker);
            boolean overdue = now - u.assignedAt > settings.unitTimeout().toMillis();
            if (left || overdue) {
                WorkUnitReassigned r = WorkUnitReassigned.newBuilder().setUnit(u.id).setFromWorker(u.worker)
                        .setReason(left ? "worker left" : "overdue").setIncludeG(u.includeG).build();
                evs.add(r);
                view.apply(r);
            }
        }
        evs.addAll(WorkPlan.assignments(view, workers));
        if (evs.isEmpty()) {
            return resume ? Effect().none().thenRun(this::resume) : Effect().none();
        }
        return persist(evs).thenRun(s -> {
            if (resume) {
                resume(s);
            }
        });
    }

    private void resume(SupervisorState s) {
        for (SupervisorState.Unit u : s.units().values()) {
            if (!u.done && u.worker != null) {
                sendUnit(s, u);
            }
        }
        if (s.allUnitsDone() && !s.allLayersSolved()) {
            requestSolves(s);
        }
        if (s.iterationCompleted() && isLast(s, s.completedIterations().get(s.completedIterations().size() - 1))) {
            publish(s);
        }
    }

    private Effect<Message, SupervisorState> onWorkUnitDone(SupervisorState state, WorkUnitDone cmd) {
        SupervisorState.Unit u = state.units().get(SupervisorState.key(cmd.getUnit()));
        if (!state.running() || u == null || u.done) {
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
        if (!state.running() || u == null || u.done) {
            return Effect().none();
        }
        String fatal = retries.failed(cmd.getUnit(), cmd.getReason());
        if (fatal != null) {
            return fail(state, fatal);
        }
        return reassign(state, List.of(MissingUnit.newBuilder().setUnit(cmd.getUnit()).setIncludeG(u.includeG).build()),
                "failed: " + cmd.getReason());
    }

    private Effect<Message, SupervisorState> onMissingStatistics(SupervisorState state, MissingStatistics cmd) {
        if (!state.running() || cmd.getIteration() != state.iteration()) {
            return Effect().none();
        }
        List<MissingUnit> needed = new ArrayList<>();
        for (MissingUnit m : cmd.getMissingList()) {
            SupervisorState.Unit u = state.units().get(SupervisorState.key(m.getUnit()));
            if (u != null && (u.done || (m.getIncludeG() && !u.includeG))) {
                needed.add(m);
            }
        }
        for (MissingUnit m : needed) {
            String fatal = retries.refilled(m.getUnit(), cmd.getLayer());
            if (fatal != null) {
                return fail(state, fatal);
            }
        }
        return needed.isEmpty() ? Effect().none() : reassign(state, needed, "solver of " + cmd.getLayer() + " lacks statistics");
    }

    private Effect<Message, SupervisorState> reassign(SupervisorState state, List<MissingUnit> units, String reason) {
        SupervisorState view = WorkPlan.copyOf(state);
        List<Message> evs = new ArrayList<>();
        for (MissingUnit m : units) {
            SupervisorState.Unit u = view.units().get(SupervisorState.key(m.getUnit()));
            WorkUnitReassigned r = WorkUnitReassigned.newBuilder().setUnit(m.getUnit())
                    .setFromWorker(u.worker == null ? "" : u.worker).setReason(reason).setIncludeG(m.getIncludeG()).build();
            evs.add(r);
            view.apply(r);
        }
        evs.addAll(WorkPlan.assignments(view, workers));
        return persist(evs);
    }

    private Effect<Message, SupervisorState> onLayerSolved(SupervisorState state, LayerSolved cmd) {
        if (!state.running() || cmd.getIteration() != state.iteration() || state.solved().containsKey(cmd.getLayer())) {
            return Effect().none();
        }
        List<Message> evs = new ArrayList<>();
        evs.add(LayerSolvedRecorded.newBuilder().setResult(cmd).build());
        if (state.solved().size() + 1 < state.spec().getLayersCount()) {
            return persist(evs);
        }
        IterationCompleted completed = WorkPlan.completion(state, cmd);
        evs.add(completed);
        if (isLast(state, completed)) {
            return persist(evs).thenRun(this::publish);
        }
        SupervisorState view = WorkPlan.copyOf(state);
        evs.forEach(view::apply);
        IterationStarted next = IterationStarted.newBuilder().setIteration(state.iteration() + 1)
                .putAllWeights(completed.getLayerHashesMap()).setAtMillis(System.currentTimeMillis()).build();
        evs.add(next);
        view.apply(next);
        evs.addAll(WorkPlan.assignments(view, workers));
        return persist(evs);
    }

    private boolean isLast(SupervisorState state, IterationCompleted c) {
        return c.getIteration() + 1 >= state.spec().getIterations()
                || LocalMergeEngine.converged(JobCache.get(state.spec()).method(), c.getIteration(), c.getMaxRelativeChange());
    }

    /** Writes the merged adapter; blocking, on this actor's compute dispatcher. Reports back to itself. */
    private void publish(SupervisorState s) {
        if (publishing) {
            return;
        }
        publishing = true;
        try {
            JobFinisher.publish(s);
            ctx.getSelf().tell(JobCompleted.newBuilder().setOutputPath(s.spec().getOutputPath())
                    .setAtMillis(System.currentTimeMillis()).build());
        } catch (RuntimeException e) {
            ctx.getLog().error("job {}: publishing the output failed", jobId, e);
            ctx.getSelf().tell(JobFailed.newBuilder().setReason("publishing the output failed: " + e.getMessage()).build());
        }
    }

    private Effect<Message, SupervisorState> fail(SupervisorState state, String reason) {
        if (!state.running()) {
            return Effect().none();
        }
        return persist(List.of(JobFailed.newBuilder().setReason(reason).setAtMillis(System.currentTimeMillis()).build()));
    }

    /** Persists events, then logs them, sends the units they assign, and tells the subscribers. */
    private EffectBuilder<Message, SupervisorState> persist(List<Message> evs) {
        return Effect().persist(evs).thenRun(s -> {
            for (Message e : evs) {
                events.log(e);
                if (e instanceof WorkUnitAssigned a) {
                    sendUnit(s, s.units().get(SupervisorState.key(a.getUnit())));
                }
                if (e instanceof IterationStarted && s.units().isEmpty()) {
                    requestSolves(s);
                }
                if (e instanceof JobCompleted || e instanceof JobFailed) {
                    JobCache.evict(jobId);
                }
            }
            Progress.send(ctx, refs, subscribers, s, Progress.describe(evs));
        });
    }

    private void sendUnit(SupervisorState s, SupervisorState.Unit u) {
        refs.<Message>resolveActorRef(u.worker).tell(WorkUnit.newBuilder().setSpec(s.spec()).setUnit(u.id)
                .setIncludeG(u.includeG).setAttempt(u.attempt).putAllWeights(s.weights()).build());
    }

    private void requestSolves(SupervisorState s) {
        solveRequestedAt = System.currentTimeMillis();
        Set<String> pending = new HashSet<>(s.spec().getLayersList());
        pending.removeAll(s.solved().keySet());
        for (String layer : pending) {
            ClusterSharding.get(ctx.getSystem()).entityRefFor(LayerSolver.TYPE_KEY, LayerSolver.entityId(jobId, layer))
                    .tell(SolveLayer.newBuilder().setSpec(s.spec()).setLayer(layer).setIteration(s.iteration())
                            .setPreviousHash(s.weights().getOrDefault(layer, "")).build());
        }
    }
}
