package io.iteris.deploy.console;

import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpCookie;
import org.apache.pekko.http.javadsl.model.headers.SameSite;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.server.Route;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Who may read a console. On loopback (a node without TLS) anyone who can reach the port: only local users. Over
 * HTTPS every request needs the token, as {@code Authorization: Bearer …} (curl, Prometheus) or as the cookie the
 * sign-in page sets (a browser; HttpOnly, Secure, SameSite=Strict, so scripts and other sites cannot read or send it).
 */
final class ConsoleAuth {
    static final String COOKIE = "iteris_console";

    /** Null: no token asked. */
    private final byte[] token;

    private ConsoleAuth(String token) {
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
    }

    static ConsoleAuth open() {
        return new ConsoleAuth(null);
    }

    static ConsoleAuth bearer(String token) {
        return new ConsoleAuth(token);
    }

    boolean asksToken() {
        return token != null;
    }

    private boolean matches(String candidate) {
        // constant time: a token is not guessed a byte at a time from response times
        return candidate != null && MessageDigest.isEqual(token, candidate.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code /sign-in}: the form, and its post (which sets the cookie). Nothing without a token. */
    Route signInRoutes(ConsoleRoutes d) {
        if (token == null) {
            return d.reject();
        }
        return d.path("sign-in", () -> d.concat(
                d.get(() -> d.status(StatusCodes.OK, () -> Pages.signIn(false))),
                d.post(() -> d.formField("token", t -> matches(t.strip())
                        ? d.setCookie(HttpCookie.create(COOKIE, t.strip()).withPath("/").withSecure(true).withHttpOnly(true)
                                .withSameSite(SameSite.Strict), () -> d.redirect(org.apache.pekko.http.javadsl.model.Uri.create("/"), StatusCodes.SEE_OTHER))
                        : d.status(StatusCodes.UNAUTHORIZED, () -> Pages.signIn(true))))));
    }

    /** {@code inner} when the request carries the token (or none is asked); else 401: the sign-in page, or a Bearer challenge for the API. */
    Route authorized(ConsoleRoutes d, Supplier<Route> inner) {
        if (token == null) {
            return inner.get();
        }
        return d.optionalHeaderValueByName("Authorization", header -> d.optionalCookie(COOKIE, cookie -> {
            Optional<String> bearer = header.filter(h -> h.startsWith("Bearer ")).map(h -> h.substring("Bearer ".length()).strip());
            if (matches(bearer.orElse(null)) || matches(cookie.map(c -> c.value()).orElse(null))) {
                return inner.get();
            }
            return d.extractUnmatchedPath(path -> path.startsWith("/api") || path.startsWith("/metrics")
                    ? d.respondWithHeader((HttpHeader) WWWAuthenticate.create(HttpChallenge.create("Bearer", "iteris")),
                            () -> d.complete(StatusCodes.UNAUTHORIZED, "a bearer token is needed (iteris.engine.http.token-file)"))
                    : d.status(StatusCodes.UNAUTHORIZED, () -> Pages.signIn(false)));
        }));
    }
}
