package io.iteris.actors;

import io.iteris.core.config.MergeSettings;
import io.iteris.protocol.AdapterRef;
import io.iteris.protocol.JobSpec;

/** Turns a user's merge settings into the job message the actors exchange. */
public final class JobSpecs {
    private JobSpecs() {
    }

    public static JobSpec of(String jobId, MergeSettings s, int iterations) {
        JobSpec.Builder b = JobSpec.newBuilder()
                .setJobId(jobId)
                .setBasePath(String.valueOf(s.base()))
                .setMethod(s.method())
                .setIterations(iterations)
                .setOutputPath(String.valueOf(s.out()));
        if (s.calibration() != null) {
            b.setCalibrationPath(s.calibration().toString());
        }
        for (MergeSettings.AdapterSpec a : s.adapters()) {
            b.addAdapters(AdapterRef.newBuilder().setName(a.name()).setPath(a.path().toString()).setManualCoef(a.manualCoef()));
        }
        return b.build();
    }
}
