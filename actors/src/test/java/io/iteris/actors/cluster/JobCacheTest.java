package io.iteris.actors.cluster;

import io.iteris.core.engine.Merger;
import io.iteris.core.model.onnx.Device;
import io.iteris.protocol.JobSpec;
import io.iteris.core.vectors.E2eCase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
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
    /** A real job's inputs, which each load below hands out as a new instance. */
    static Merger.LoadedJob real;

    @BeforeAll
    static void loadAJob(@TempDir Path tmp) {
        E2eCase e2e = E2eCase.open(Path.of("..", "core", "src", "test", "resources", "vectors", "e2e_mlp_feedforward")
                .toAbsolutePath().normalize());
        real = Merger.loadMergeInputs(e2e.iterisSettings("default", 2, tmp.resolve("out")));
    }

    static Merger.LoadedJob copy(List<INDArray> samples) {
        return new Merger.LoadedJob(real.settings(), real.method(), real.inputs(), Optional.empty(), samples);
    }

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
            return copy(List.of());
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
            return copy(List.of(Nd4j.zeros(1)));
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
