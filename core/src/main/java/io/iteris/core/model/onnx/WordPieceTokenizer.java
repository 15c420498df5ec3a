package io.iteris.core.model.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT's uncased WordPiece tokenizer, read from a HuggingFace {@code tokenizer.json} (BertNormalizer with
 * lowercasing and accent stripping, BertPreTokenizer, WordPiece with {@code ##} continuations): what
 * all-MiniLM-L6-v2 and BERT-base-uncased use. A tokenizer of another kind is refused by name rather than
 * approximated.
 */
public final class WordPieceTokenizer {
    private final Map<String, Integer> vocab;
    private final String prefix;
    private final int maxCharsPerWord;
    private final int unk;
    private final int cls;
    private final int sep;
    private final int pad;

    private WordPieceTokenizer(Map<String, Integer> vocab, String prefix, int maxCharsPerWord, String unkToken) {
        this.vocab = vocab;
        this.prefix = prefix;
        this.maxCharsPerWord = maxCharsPerWord;
        this.unk = id(unkToken);
        this.cls = id("[CLS]");
        this.sep = id("[SEP]");
        this.pad = id("[PAD]");
    }

    public static WordPieceTokenizer read(InputStream json, String source) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + " is not a tokenizer.json: " + e.getMessage(), e);
        }
        JsonNode model = root.path("model");
        if (!model.path("type").asText().equals("WordPiece") || !root.path("normalizer").path("lowercase").asBoolean(false)) {
            throw new IllegalArgumentException(source + ": only uncased WordPiece tokenizers (BERT-style) are supported, got model type '"
                    + model.path("type").asText() + "'");
        }
        Map<String, Integer> vocab = new HashMap<>();
        model.path("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        return new WordPieceTokenizer(vocab, model.path("continuing_subword_prefix").asText("##"),
                model.path("max_input_chars_per_word").asInt(100), model.path("unk_token").asText("[UNK]"));
    }

    private int id(String token) {
        Integer i = vocab.get(token);
        if (i == null) {
            throw new IllegalArgumentException("the vocabulary has no " + token);
        }
        return i;
    }

    /** [CLS] tokens [SEP], truncated to {@code maxTokens} in all. */
    public long[] encode(String text, int maxTokens) {
        List<Integer> ids = new ArrayList<>();
        ids.add(cls);
        for (String word : words(text)) {
            for (int id : wordPieces(word)) {
                if (ids.size() >= maxTokens - 1) {
                    break;
                }
                ids.add(id);
            }
        }
        ids.add(sep);
        return ids.stream().mapToLong(Integer::longValue).toArray();
    }

    /** Texts as one batch padded with [PAD] to the longest, and its attention mask. */
    public OnnxTransformerRunner.TokenBatch batch(List<String> texts, int maxTokens) {
        return OnnxTransformerRunner.TokenBatch.padded(texts.stream().map(t -> encode(t, maxTokens)).toList(), pad);
    }

    /** BertNormalizer + BertPreTokenizer: clean, space out CJK, lowercase, strip accents, split on spaces and punctuation. */
    static List<String> words(String text) {
        StringBuilder clean = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (c == 0 || c == 0xFFFD || (Character.isISOControl(c) && c != '\t' && c != '\n' && c != '\r')) {
                return;
            }
            if (isCjk(c)) {
                clean.append(' ').appendCodePoint(c).append(' ');
            } else {
                clean.appendCodePoint(Character.isWhitespace(c) ? ' ' : c);
            }
        });
        String lower = Normalizer.normalize(clean.toString().toLowerCase(java.util.Locale.ROOT), Normalizer.Form.NFD)
                .replaceAll("\\p{Mn}", "");
        List<String> out = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        lower.codePoints().forEach(c -> {
            if (Character.isWhitespace(c)) {
                flush(word, out);
            } else if (isPunctuation(c)) {
                flush(word, out);
                out.add(new String(Character.toChars(c)));
            } else {
                word.appendCodePoint(c);
            }
        });
        flush(word, out);
        return out;
    }

    /** Greedy longest-match-first; a word with no split at all is [UNK]. */
    List<Integer> wordPieces(String word) {
        if (word.codePointCount(0, word.length()) > maxCharsPerWord) {
            return List.of(unk);
        }
        List<Integer> pieces = new ArrayList<>();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            Integer found = null;
            while (start < end) {
                String sub = (start > 0 ? prefix : "") + word.substring(start, end);
                found = vocab.get(sub);
                if (found != null) {
                    break;
                }
                end = word.offsetByCodePoints(end, -1);
            }
            if (found == null) {
                return List.of(unk);
            }
            pieces.add(found);
            start = end;
        }
        return pieces;
    }

    private static void flush(StringBuilder word, List<String> out) {
        if (word.length() > 0) {
            out.add(word.toString());
            word.setLength(0);
        }
    }

    /** BERT's punctuation: ASCII symbols and Unicode P* categories. */
    static boolean isPunctuation(int c) {
        if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
            return true;
        }
        int t = Character.getType(c);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
                || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    private static boolean isCjk(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }
}
