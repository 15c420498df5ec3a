package io.iteris.core.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The text sources as their distributions lay them out: what a reader of each example sees, and clear errors. */
class TextSourcesTest {
    @TempDir
    Path dir;

    @Test
    void mailKeepsSubjectAndBodyAndDropsHeadersAndTags() {
        String mail = "From someone@example.org Thu Aug 22 2002\nReceived: from relay\nSubject: Cheap   offer\nTo: you\n\n"
                + "<html><b>Buy</b> now!</html>\n\nThanks";
        assertEquals("Cheap offer. Buy now! Thanks", TextSources.mailText(mail));
    }

    @Test
    void fortunesSplitOnPercentLinesAndNamesOnBothListsAreDropped() throws Exception {
        Path f = dir.resolve("fortunes/usr/share/games/fortunes");
        Files.createDirectories(f);
        Files.writeString(f.resolve("science"), "E = mc^2\n%\nThe atoms\nare small.\n%\n%\n");
        assertEquals(List.of(List.of("E = mc^2", "The atoms are small.")), TextSources.fortunes(dir, List.of("science")));

        for (String sex : List.of("female", "male")) {
            Path d = dir.resolve(sex + "-first-names-en/package/data");
            Files.createDirectories(d);
            Files.writeString(d.resolve("names.txt"), sex.equals("female") ? "Mary\nJordan\nAnn\n" : "John\nJordan\n");
        }
        assertEquals(List.of(List.of("Mary", "Ann"), List.of("John")), TextSources.names(dir));
    }

    @Test
    void missingSourcesNameTheScriptThatUnpacksThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TextSources.spam(dir));
        assertTrue(e.getMessage().contains("text-sources.sh") && e.getMessage().contains("easy-ham-1"), e.getMessage());
    }
}
