package io.iteris.actors.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.engine.Merger;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.model.Calibration;
import io.iteris.protocol.AdapterRef;
import io.iteris.protocol.JobSpec;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Converts between the user's {@link MergeSettings} and the {@link JobSpec} every node reads. */
public final class JobSpecs {
    private JobSpecs() {
    }

    /**
     * The job for loaded, checked settings: the plan (layers, shards per task, number of solves) is fixed
     * here, once, so every node agrees on it.
     */
    public static JobSpec of(String jobId, Merger.LoadedJob job, Path store) {
        MergeSettings s = job.settings();
        JobSpec.Builder b = JobSpec.newBuilder()
                .setJobId(jobId)
                .setBasePath(s.base().toAbsolutePath().toString())
                .setMethod(s.method())
                .setIterations(job.solves())
                .setOutputPath(s.out().toAbsolutePath().toString())
                .setMethodConfig(s.root().getConfig("iteris.methods").root().render(ConfigRenderOptions.concise()))
                .setShardSize(s.shardSize())
                .setPrecision(s.precision())
                .setOutputFormat(s.outputFormat().name().toLowerCase(java.util.Locale.ROOT))
                .setRank(s.rank())
                .setOverwrite(s.overwrite())
                .setStorePath(store.toAbsolutePath().toString())
                .addAllLayers(job.inputs().layers());
        if (job.method().dataNeeds() != MergeMethod.DataNeeds.NONE) {
            b.setCalibrationPath(s.calibration().toAbsolutePath().toString());
            b.setModelPath(Merger.modelDescription(s).toAbsolutePath().toString());
            for (INDArray samples : job.samples()) {
                b.addShardsPerTask(Calibration.shards(samples, s.shardSize()).size());
            }
        }
        for (MergeSettings.AdapterSpec a : s.adapters()) {
            b.addAdapters(AdapterRef.newBuilder().setName(a.name()).setPath(a.path().toAbsolutePath().toString())
                    .setManualCoef(a.manualCoef()));
        }
        return b.build();
    }

    /** The settings a node rebuilds the job from. */
    public static MergeSettings settings(JobSpec spec) {
        Map<String, Object> m = new HashMap<>();
        m.put("method", spec.getMethod());
        m.put("base", spec.getBasePath());
        m.put("out", spec.getOutputPath());
        m.put("overwrite", spec.getOverwrite());
        m.put("output-format", spec.getOutputFormat());
        m.put("rank", spec.getRank());
        m.put("precision", spec.getPrecision());
        m.put("shard-size", spec.getShardSize());
        if (!spec.getCalibrationPath().isEmpty()) {
            m.put("calibration", spec.getCalibrationPath());
        }
        if (!spec.getModelPath().isEmpty()) {
            m.put("model", spec.getModelPath());
        }
        List<Map<String, Object>> adapters = new ArrayList<>();
        for (AdapterRef a : spec.getAdaptersList()) {
            adapters.add(Map.of("name", a.getName(), "path", a.getPath(), "manual_coef", a.getManualCoef()));
        }
        m.put("adapters", adapters);
        Config methods = ConfigFactory.parseString(spec.getMethodConfig()).atPath("iteris.methods");
        Config merge = ConfigFactory.parseMap(m).atPath("iteris.merge");
        return MergeSettings.from(merge.withFallback(methods));
    }
}
