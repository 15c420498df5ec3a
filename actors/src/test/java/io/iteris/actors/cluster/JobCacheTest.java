package io.iteris.actors.cluster;

import io.iteris.core.engine.Merger;
import io.iteris.core.model.onnx.Device;
import io.iteris.protocol.JobSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node's job cache: each part of a job loaded once, a solver's weights not held up by a worker's model load, a failed
 * load tried again, and an ended job let go of once its last lease closes.
 */
class JobCacheTest {
    static final JobSpec SPEC = JobSpec.newBuilder().setJobId("cache-job").build();

    /** Parts that say what they are; the model part waits for {@code modelMay}, the inputs fail {@code inputFailures} times. */
    static final class Parts implements JobCache.Loader {
        final CountDownLatch modelMay = new CountDownLatch(1);
        final CountDownLatch modelLoading = new CountDownLatch(1);
        final AtomicInteger inputLoads = new AtomicInteger();
        final AtomicInteger modelLoads = new AtomicInteger();
        int inputFailures;

        @Override
        public Merger.LoadedJob inputs(JobSpec spec) {
            if (inputLoads.incrementAndGet() <= inputFailures) {
                throw new IllegalStateException("the adapters are not there yet");
            }
            return new Merger.LoadedJob(null, null, null, null, null);
        }

        @Override
        public Merger.LoadedJob withData(Merger.LoadedJob inputs, Device device) {
            modelLoads.incrementAndGet();
            modelLoading.countDown();
            try {
                if (!modelMay.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never let the model load end");
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return new Merger.LoadedJob(null, null, null, null, List.of());
        }
    }

    @Test
    void aSolverTakesTheWeightsWhileAWorkerStillLoadsTheModel() throws Exception {
        Parts parts = new Parts();
        JobCache cache = new JobCache(parts);
        CompletableFuture<JobCache.Lease> worker = CompletableFuture.supplyAsync(() -> cache.job(SPEC, Device.CPU));
        assertTrue(parts.modelLoading.await(10, TimeUnit.SECONDS));
        CompletableFuture<JobCache.Lease> solver = CompletableFuture.supplyAsync(() -> cache.inputs(SPEC));
        try (JobCache.Lease weights = solver.get(10, TimeUnit.SECONDS)) {
            assertFalse(worker.isDone(), "the model is still loading");
            assertEquals(1, parts.inputLoads.get(), "the weights were loaded once, for both");
            CompletableFuture<JobCache.Lease> second = CompletableFuture.supplyAsync(() -> cache.job(SPEC, Device.CPU));
            parts.modelMay.countDown();
            try (JobCache.Lease model = worker.get(10, TimeUnit.SECONDS); JobCache.Lease again = second.get(10, TimeUnit.SECONDS)) {
                assertSame(model.job(), again.job(), "a second worker waits for the first one's model rather than loading it twice");
                assertEquals(1, parts.modelLoads.get());
                assertNotSame(weights.job(), model.job());
            }
        }
    }

    @Test
    void aFailedLoadIsTriedAgainByTheNextCaller() {
        Parts parts = new Parts();
        parts.inputFailures = 1;
        JobCache cache = new JobCache(parts);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> cache.inputs(SPEC));
        assertTrue(e.getMessage().contains("not there yet"), e.getMessage());
        try (JobCache.Lease lease = cache.inputs(SPEC)) {
            assertEquals(2, parts.inputLoads.get());
        }
    }

    @Test
    void anEndedJobIsLetGoOnceItsLastLeaseClosesAndRefusedAfter() {
        JobCache cache = new JobCache(new Parts());
        JobCache.Lease lease = cache.inputs(SPEC);
        cache.evict(SPEC.getJobId());
        assertEquals(List.of(SPEC.getJobId()), cache.cachedJobs(), "still held");
        lease.close();
        assertTrue(cache.cachedJobs().isEmpty());
        assertThrows(JobCache.JobEndedException.class, () -> cache.inputs(SPEC));
    }
}
