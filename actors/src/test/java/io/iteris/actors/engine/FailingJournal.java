package io.iteris.actors.engine;

import com.typesafe.config.Config;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.jdbc.journal.JdbcAsyncWriteJournal;
import scala.collection.immutable.Seq;
import scala.concurrent.Future;
import scala.runtime.BoxedUnit;
import scala.util.Try;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The JDBC journal, except that every write fails while the file named by {@code fail-while-exists} (in the journal
 * plugin's config) exists: a journal outage, injected where no external kill reaches.
 */
public final class FailingJournal extends JdbcAsyncWriteJournal {
    /** Writes refused so far, in this JVM. */
    static final AtomicInteger REFUSED = new AtomicInteger();

    private final Path failWhileExists;

    public FailingJournal(Config config) {
        super(config);
        this.failWhileExists = Path.of(config.getString("fail-while-exists"));
    }

    @Override
    public Future<Seq<Try<BoxedUnit>>> asyncWriteMessages(Seq<AtomicWrite> messages) {
        if (Files.exists(failWhileExists)) {
            REFUSED.incrementAndGet();
            return org.apache.pekko.dispatch.Futures.failed(new IOException("injected journal failure (" + failWhileExists.getFileName() + ")"));
        }
        return super.asyncWriteMessages(messages);
    }
}
