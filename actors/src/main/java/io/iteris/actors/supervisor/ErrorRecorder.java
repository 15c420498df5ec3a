package io.iteris.actors.supervisor;

import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.Signal;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Remembers the error that made a behaviour fail, for the incarnation that the restart brings: it sits
 * between {@code Behaviors.supervise} and the supervisor, so the restarted supervisor can journal why it
 * restarted (and give up past a bound). Every message and signal passes, internal ones included.
 */
final class ErrorRecorder extends BehaviorInterceptor<Object, Object> {
    private final AtomicReference<String> last;

    private ErrorRecorder(AtomicReference<String> last) {
        super(Object.class);
        this.last = last;
    }

    @SuppressWarnings("unchecked")
    static <T> Behavior<T> wrap(Behavior<T> inner, AtomicReference<String> last) {
        Behavior<Object> b = (Behavior<Object>) (Behavior<?>) inner;
        return (Behavior<T>) (Behavior<?>) Behaviors.intercept(() -> new ErrorRecorder(last), b);
    }

    @Override
    public Behavior<Object> aroundReceive(TypedActorContext<Object> ctx, Object msg, ReceiveTarget<Object> target) {
        try {
            return target.apply(ctx, msg);
        } catch (RuntimeException e) {
            last.set(describe(e));
            throw e;
        }
    }

    @Override
    public Behavior<Object> aroundSignal(TypedActorContext<Object> ctx, Signal signal, SignalTarget<Object> target) {
        try {
            return target.apply(ctx, signal);
        } catch (RuntimeException e) {
            last.set(describe(e));
            throw e;
        }
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
