package io.iteris.deploy.console;

import com.typesafe.config.Config;
import io.iteris.actors.node.IterisNode;
import io.iteris.actors.node.NodeConfig;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.ServerBuilder;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A node's web console (Pekko HTTP), on {@code iteris.engine.http.port}: plain HTTP on 127.0.0.1 for a node
 * without TLS; HTTPS on the node's hostname, with the node's own certificate and a bearer token, for a node with
 * TLS. See {@link ConsoleRoutes} for what it serves.
 */
public final class Console implements AutoCloseable {
    private final ServerBinding binding;
    private final String url;

    private Console(ServerBinding binding, String url) {
        this.binding = binding;
        this.url = url;
    }

    /** Starts the console when the node's settings ask for one (a port other than 0); null otherwise. */
    public static Console startIfEnabled(IterisNode node) {
        Config c = node.system().settings().config();
        int port = c.getInt("iteris.engine.http.port");
        if (port == 0) {
            return null;
        }
        boolean tls = node.tls();
        String host = tls ? c.getString("pekko.remote.artery.canonical.hostname") : "127.0.0.1";
        ConsoleAuth auth = ConsoleAuth.open();
        ServerBuilder server = Http.get(node.system()).newServerAt(host, port);
        if (tls) {
            String tokenFile = c.getString("iteris.engine.http.token-file");
            if (tokenFile.isEmpty()) {
                throw new IllegalArgumentException("iteris.engine.http.token-file: a node with TLS serves its console over HTTPS to"
                        + " holders of a bearer token; name the file that holds it (deploy/local-cluster.sh writes one)");
            }
            auth = ConsoleAuth.bearer(NodeConfig.secret(Path.of(tokenFile), "iteris.engine.http.token-file"));
            server = server.enableHttps(ConnectionContext.httpsServer(sslContext(c)));
        }
        try {
            ServerBinding b = server.bind(new ConsoleRoutes(node.system(), auth).route()).toCompletableFuture().get(30, TimeUnit.SECONDS);
            String url = (tls ? "https" : "http") + "://" + host + ":" + b.localAddress().getPort() + "/";
            return new Console(b, url);
        } catch (Exception e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalArgumentException("the console cannot listen on " + host + ":" + port + " (iteris.engine.http.port): "
                    + cause.getMessage(), e);
        }
    }

    /** The node's key store (deploy/certs.sh): the console shows the certificate the cluster's CA signed. */
    private static SSLContext sslContext(Config c) {
        String ssl = "pekko.remote.artery.ssl.config-ssl-engine.";
        Path store = Path.of(c.getString(ssl + "key-store"));
        char[] password = c.getString(ssl + "key-store-password").toCharArray();
        try (InputStream in = Files.newInputStream(store)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, c.getString(ssl + "key-password").toCharArray());
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalArgumentException("the console cannot use the key store " + store + ": " + e.getMessage(), e);
        }
    }

    /** Where the console answers, e.g. {@code https://10.0.0.5:8558/}. */
    public String url() {
        return url;
    }

    @Override
    public void close() {
        binding.terminate(Duration.ofSeconds(5));
    }
}
