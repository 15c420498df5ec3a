package io.iteris.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * deploy/k8s/ read as Kubernetes would, checked against the code: the node's flags parse as `iteris node` parses them,
 * the seeds are the StatefulSet's own stable names, the probes ask the routes the console serves without a token, every
 * file a flag names is mounted from the Secret or ConfigMap that holds it, and the Pekko settings are Pekko's. No
 * Kubernetes server runs here: the manifests were not applied to a cluster (docs/deploy.md says so).
 */
class K8sManifestsTest {
    static final Path K8S = Path.of("..", "deploy", "k8s").toAbsolutePath().normalize();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static JsonNode read(String file) throws IOException {
        return YAML.readTree(K8S.resolve(file).toFile());
    }

    static JsonNode container() throws IOException {
        return read("statefulset.yaml").at("/spec/template/spec/containers/0");
    }

    /** The container's args with the environment Kubernetes substitutes ($(VAR)) filled in as it would for pod 1. */
    static List<String> args() throws IOException {
        Map<String, String> env = Map.of("POD_NAME", "iteris-1", "NAMESPACE", "merges", "JOURNAL_URL", "jdbc:postgresql://pg:5432/iteris",
                "JOURNAL_USER", "iteris");
        List<String> out = new ArrayList<>();
        for (JsonNode a : container().get("args")) {
            String s = a.asText();
            for (var e : env.entrySet()) {
                s = s.replace("$(" + e.getKey() + ")", e.getValue());
            }
            assertFalse(s.contains("$("), "every variable an argument uses is defined: " + s);
            out.add(s);
        }
        return out;
    }

    static String flag(List<String> args, String name) {
        return args.stream().filter(a -> a.startsWith(name + "=")).map(a -> a.substring(name.length() + 1)).findFirst().orElseThrow(
                () -> new AssertionError("no " + name + " in " + args));
    }

    @Test
    void theNodesFlagsParseAsIterisNodeParsesThemAndItsSeedsAreTheStatefulSetsOwnNames() throws IOException {
        JsonNode sts = read("statefulset.yaml");
        JsonNode svc = read("service.yaml");
        List<String> args = args();
        CommandLine.ParseResult parsed = Main.commandLine().parseArgs(args.toArray(String[]::new));
        assertEquals("node", parsed.subcommand().commandSpec().name(), "the container runs `iteris node`");
        assertTrue(parsed.subcommand().unmatched().isEmpty(), "no flag unknown to iteris node: " + parsed.subcommand().unmatched());

        assertEquals(svc.at("/metadata/name").asText(), sts.at("/spec/serviceName").asText());
        assertEquals("None", svc.at("/spec/clusterIP").asText(), "a headless Service: one DNS name per pod");
        assertTrue(svc.at("/spec/publishNotReadyAddresses").asBoolean(), "a pod finds its seeds before it is ready");
        int replicas = sts.at("/spec/replicas").asInt();
        String port = flag(args, "--port");
        List<String> seeds = List.of(flag(args, "--seed").split(","));
        assertEquals(replicas, seeds.size(), "every pod is a seed: " + seeds);
        for (int i = 0; i < replicas; i++) {
            assertEquals("iteris-" + i + "." + svc.at("/metadata/name").asText() + ".merges.svc.cluster.local:" + port, seeds.get(i));
        }
        assertEquals("iteris-1.iteris.merges.svc.cluster.local", flag(args, "--host"), "a pod announces its own stable name");
        assertTrue(seeds.contains(flag(args, "--host") + ":" + port));

        Map<String, Integer> containerPorts = new HashMap<>();
        container().get("ports").forEach(p -> containerPorts.put(p.get("name").asText(), p.get("containerPort").asInt()));
        assertEquals(Integer.parseInt(port), containerPorts.get("remoting"));
        assertEquals(Integer.parseInt(flag(args, "--http-port")), containerPorts.get("console"));
        Set<String> servicePorts = new HashSet<>();
        svc.at("/spec/ports").forEach(p -> servicePorts.add(p.get("targetPort").asText()));
        assertEquals(containerPorts.keySet(), servicePorts);
        assertEquals("1", container().at("/resources/limits/nvidia.com~1gpu").asText(), "one GPU per pod");
        assertEquals("cuda", flag(args, "--device"));
    }

    @Test
    void theProbesAskTheHealthRoutesOverTheConsolesPort() throws IOException {
        JsonNode c = container();
        assertEquals("/alive", c.at("/livenessProbe/httpGet/path").asText());
        assertEquals("/ready", c.at("/readinessProbe/httpGet/path").asText());
        for (String probe : List.of("livenessProbe", "readinessProbe")) {
            assertEquals("console", c.at("/" + probe + "/httpGet/port").asText());
            assertEquals("HTTPS", c.at("/" + probe + "/httpGet/scheme").asText(), "the console is HTTPS on a TLS node");
        }
        String routes = Files.readString(Path.of("src/main/java/io/iteris/deploy/console/ConsoleRoutes.java"));
        assertTrue(routes.contains("path(\"alive\"") && routes.contains("path(\"ready\""), "the console serves both");
        assertTrue(routes.indexOf("concat(health(), ") < routes.indexOf("auth.authorized("), "before the token is asked for");
    }

    @Test
    void everyFileAFlagNamesIsMountedFromTheSecretOrConfigMapThatHoldsIt() throws IOException {
        JsonNode pod = read("statefulset.yaml").at("/spec/template/spec");
        Map<String, String> mounts = new HashMap<>();
        container().get("volumeMounts").forEach(m -> mounts.put(m.get("mountPath").asText(), m.get("name").asText()));
        Map<String, JsonNode> volumes = new HashMap<>();
        pod.get("volumes").forEach(v -> volumes.put(v.get("name").asText(), v));
        List<String> args = args();
        assertEquals("iteris-tls", volumes.get(mounts.get(flag(args, "--tls"))).at("/secret/secretName").asText(),
                "the TLS directory (keystore.p12, truststore.p12, password) is the Secret iteris-tls");
        Path token = Path.of(flag(args, "--http-token-file"));
        assertEquals("iteris-console", volumes.get(mounts.get(token.getParent().toString())).at("/secret/secretName").asText());
        Path password = Path.of(flag(args, "--journal-password-file"));
        JsonNode journal = volumes.get(mounts.get(password.getParent().toString()));
        assertEquals("iteris-journal", journal.at("/secret/secretName").asText());
        assertEquals(password.getFileName().toString(), journal.at("/secret/items/0/path").asText());
        Set<String> secretEnv = new HashSet<>();
        container().get("env").forEach(e -> {
            if (e.has("valueFrom") && e.get("valueFrom").has("secretKeyRef")) {
                secretEnv.add(e.at("/valueFrom/secretKeyRef/name").asText());
            }
        });
        assertEquals(Set.of("iteris-journal"), secretEnv);
        assertFalse(String.join(" ", args).toLowerCase().contains("password="), "no secret on the command line");
        for (JsonNode v : pod.get("volumes")) {
            if (v.has("secret")) {
                assertEquals(0400, v.at("/secret/defaultMode").asInt(), "secrets readable by the node alone: " + v);
            }
        }
        Path config = Path.of(flag(args, "--config"));
        assertEquals("iteris-pekko", volumes.get(mounts.get(config.getParent().toString())).at("/configMap/name").asText());
        JsonNode kustomize = read("kustomization.yaml");
        assertEquals("iteris-pekko", kustomize.at("/configMapGenerator/0/name").asText());
        assertEquals(config.getFileName().toString(), kustomize.at("/configMapGenerator/0/files/0").asText());
        assertTrue(mounts.containsKey(flag(args, "--store").replaceAll("/store$", "")), "the checkpoint store on the shared volume");
        assertEquals("iteris-shared", volumes.get(mounts.get("/shared")).at("/persistentVolumeClaim/claimName").asText());
    }

    @Test
    void pekkosSettingsForKubernetesAndEveryManifestListed() throws IOException {
        Config pekko = ConfigFactory.parseFile(K8S.resolve("pekko.conf").toFile()).withFallback(ConfigFactory.defaultReference()).resolve();
        assertTrue(pekko.getBoolean("pekko.coordinated-shutdown.exit-jvm"), "a node that leaves ends its pod, which restarts");
        assertEquals("120s", pekko.getString("pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes"));
        assertEquals(7, pekko.getDuration("pekko.cluster.split-brain-resolver.stable-after").toSeconds());
        assertEquals("0.0.0.0", pekko.getString("pekko.remote.artery.bind.hostname"));

        JsonNode pdb = read("pdb.yaml");
        assertEquals(1, pdb.at("/spec/maxUnavailable").asInt());
        assertEquals(read("statefulset.yaml").at("/spec/template/metadata/labels"), pdb.at("/spec/selector/matchLabels"));
        Set<String> listed = new HashSet<>();
        read("kustomization.yaml").get("resources").forEach(r -> listed.add(r.asText()));
        try (Stream<Path> files = Files.list(K8S)) {
            Set<String> manifests = new HashSet<>(files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).toList());
            assertEquals(manifests, listed, "kubectl apply -k applies every manifest");
        }
    }
}
