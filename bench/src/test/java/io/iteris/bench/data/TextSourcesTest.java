package io.iteris.bench.data;

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

    @Test
    void languagesReadEveryPackagesFortunesLatin1OrUtf8AndLeaveOutOffensiveAndLongOnes() throws Exception {
        Path en = dir.resolve("fortunes/usr/share/games/fortunes");
        Files.createDirectories(en.resolve("off"));
        Files.writeString(en.resolve("science"), "Short one.\n%\n" + "x".repeat(TextSources.FORTUNE_CHARS + 1) + "\n%\nShort one.\n");
        Files.writeString(en.resolve("off/rude"), "Not this.\n");
        Files.write(en.resolve("science.dat"), new byte[]{1, 2, 3});
        for (String lang : List.of("de", "it", "es", "pl")) {
            Path d = dir.resolve("fortunes-" + lang + "/usr/share/games/fortunes/" + lang);
            Files.createDirectories(d);
            Files.write(d.resolve("quotes"), (lang.equals("de") ? "Grüße\n" : "Ciao " + lang + "\n")
                    .getBytes(lang.equals("pl") ? java.nio.charset.StandardCharsets.ISO_8859_1 : java.nio.charset.StandardCharsets.UTF_8));
        }
        Files.write(dir.resolve("fortunes-pl/usr/share/games/fortunes/pl/latin1"), new byte[]{'Z', (byte) 0xF3, 'b', '\n'});
        List<List<String>> byLanguage = TextSources.languages(dir);
        assertEquals(List.of("Short one."), byLanguage.get(0), "long, offensive, index and duplicate entries dropped");
        assertEquals(List.of("Grüße"), byLanguage.get(1));
        assertEquals(List.of("Zób", "Ciao pl"), byLanguage.get(4), "files in name order; one that is not UTF-8 is read as Latin-1");
    }

    @Test
    void stateOfTheUnionPassagesAreWholeSentencesOfTheTwoEras() throws Exception {
        Path d = dir.resolve("sotu/package/data");
        Files.createDirectories(d);
        String sentence = "We have made progress on the economy of this great nation this year. ";
        Files.writeString(d.resolve("1895_a_d.json"), "{\"year\":1895,\"text\":\"" + sentence.repeat(4) + "\"}");
        Files.writeString(d.resolve("1985_b_r.json"), "{\"year\":1985,\"text\":\"" + sentence.repeat(3) + "\"}");
        Files.writeString(d.resolve("1920_c_r.json"), "{\"year\":1920,\"text\":\"" + sentence.repeat(4) + "\"}");
        List<List<String>> parties = TextSources.stateOfTheUnion(dir);
        String passage = sentence.repeat(3).trim();
        assertEquals(List.of(passage), parties.get(0), "passages of at least 200 characters; a shorter tail is dropped");
        assertEquals(List.of(passage), parties.get(1));
    }

    @Test
    void valenceSplitsAfinnWordsBySignAndDropsNeutralOnes() throws Exception {
        Path d = dir.resolve("afinn-111/package/data");
        Files.createDirectories(d);
        Files.writeString(d.resolve("words.csv"), "word,valence\nabandon,-2\ncool stuff,3\nmeh,0\nwin,4\n");
        assertEquals(List.of(List.of("abandon"), List.of("cool stuff", "win")), TextSources.valence(dir));
    }

    @Test
    void syllablesCountTheStressMarkedVowelsOfPlainWordsWithOneAnswer() throws Exception {
        Path d = dir.resolve("cmudict/package/data");
        Files.createDirectories(d);
        Files.writeString(d.resolve("dict.txt"), String.join("\n",
                "A  AH0",                          // one vowel
                "AARDVARK  AA1 R D V AA2 R K",     // two
                "A'S  EY1 Z",                      // not a plain word
                "EVERY  EH1 V ER0 IY0",            // three in one pronunciation
                "EVERY(1)  EH1 V R IY0",           // two in another: no single answer, left out
                "ABERRATION  AE2 B ER0 EY1 SH AH0 N", // four
                "ABERRATIONAL  AE2 B ER0 EY1 SH AH0 N AH0 L", // five counts as 4+
                "ABC  EY1 B IY1 S IY1",            // three
                "HMM  HH M"));                     // no vowel: left out
        assertEquals(List.of(List.of("a"), List.of("aardvark"), List.of("abc"), List.of("aberration", "aberrational")),
                TextSources.syllables(dir));
    }
}
