package io.iteris.actors.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import io.iteris.core.config.MergeSettings;
import io.iteris.core.engine.Merger;
import io.iteris.core.merge.MergeMethod;
import io.iteris.core.merge.MergeMethods;
import io.iteris.core.model.Calibration;
import io.iteris.protocol.AdapterRef;
import io.iteris.protocol.JobSpec;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Converts between the user's {@link MergeSettings} and the {@link JobSpec} every node reads. */
public final class JobSpecs {
    private static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private JobSpecs() {
    }

    /**
     * The job for loaded, checked settings: the plan (layers, shards per task, number of solves) is fixed
     * here, once, so every node agrees on it.
     */
    public static JobSpec of(String jobId, Merger.LoadedJob job, Path store) {
        String bad = jobIdProblem(jobId);
        if (bad != null) {
            throw new IllegalArgumentException(bad);
        }
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
        for (String layer : job.inputs().layers()) {
            b.addLayerInputs((int) job.inputs().shape(layer)[1]);
        }
        if (job.method().dataNeeds() != MergeMethod.DataNeeds.NONE) {
            Merger.statisticsLeaders(job).forEach((layer, leader) -> {
                if (!layer.equals(leader)) {
                    b.putStatisticsOf(layer, leader);
                }
            });
        }
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

    /** The layer whose statistics (and solver) a layer uses: the first of its group reading the same input. */
    public static String statisticsLayer(JobSpec spec, String layer) {
        return spec.getStatisticsOfOrDefault(layer, layer);
    }

    /** The layers whose statistics are computed and sent, one per input, in job order: the solvers' entities. */
    public static List<String> statisticsLayers(JobSpec spec) {
        return spec.getLayersList().stream().filter(l -> !spec.containsStatisticsOf(l)).toList();
    }

    /** Whether a job id is safe as an entity id, a persistence id and a directory name. */
    public static boolean validJobId(String jobId) {
        return jobId != null && JOB_ID.matcher(jobId).matches() && !jobId.equals(".") && !jobId.equals("..");
    }

    /** Why a job id is refused, or null. */
    public static String jobIdProblem(String jobId) {
        return validJobId(jobId) ? null : "job id '" + jobId + "' is not allowed: use 1 to 64 of A-Z a-z 0-9 . _ - (not . or ..)";
    }

    /** The job's merge method, built from the spec alone (no inputs are read). */
    public static MergeMethod method(JobSpec spec) {
        return MergeMethods.create(spec.getMethod(), ConfigFactory.parseString(spec.getMethodConfig()).atPath("iteris.methods"));
    }

    /**
     * Why this node must refuse a submitted job, or null: an output outside the node's allowed output roots, or
     * an input this node cannot see (a cluster reads every input by the path in the job: a shared file system).
     */
    public static String problem(JobSpec spec, EngineSettings settings, String node) {
        Path out = Path.of(spec.getOutputPath()).toAbsolutePath().normalize();
        if (!settings.outputRoots().isEmpty() && settings.outputRoots().stream().noneMatch(out::startsWith)) {
            return "the output " + out + " is outside iteris.engine.output-roots " + settings.outputRoots() + " of node " + node;
        }
        String unseen = unseen(spec);
        return unseen == null ? null : "node " + node + " " + unseen;
    }

    /** "cannot see …" for the first input of the job missing on this node, or null when every one is there. */
    public static String unseen(JobSpec spec) {
        Map<String, String> inputs = new java.util.LinkedHashMap<>();
        inputs.put("the base model", spec.getBasePath());
        for (AdapterRef a : spec.getAdaptersList()) {
            inputs.put("adapter '" + a.getName() + "'", a.getPath());
        }
        inputs.put("the calibration", spec.getCalibrationPath());
        inputs.put("the model", spec.getModelPath());
        for (Map.Entry<String, String> e : inputs.entrySet()) {
            if (!e.getValue().isEmpty() && !Files.exists(Path.of(e.getValue()))) {
                return "cannot see " + e.getKey() + " at " + e.getValue() + ": every node reads a job's inputs by the path in"
                        + " the job, so they must be on a file system all nodes share, at the same path";
            }
        }
        return null;
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
