package io.iteris.core.model.onnx;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The WordPiece tokenizer against token ids the reference (HuggingFace) tokenizer gives for MiniLM's vocabulary. */
class WordPieceTokenizerTest {
    static WordPieceTokenizer tokenizer;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = WordPieceTokenizerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            tokenizer = WordPieceTokenizer.read(in, "all-minilm-l6-v2-tokenizer.json");
        }
    }

    @Test
    void knownSentencesGiveTheReferenceIds() {
        assertArrayEquals(new long[]{101, 7592, 1010, 2088, 999, 102}, tokenizer.encode("Hello, world!", 128));
        assertArrayEquals(OnnxTransformerRunnerTest.LONG, tokenizer.encode("The quick brown fox jumps over the lazy dog", 128));
    }

    @Test
    void wordsSplitIntoPiecesAndAccentsAreStripped() {
        assertArrayEquals(new long[]{101, 19204, 3989, 102}, tokenizer.encode("Tokenization", 128));
        assertArrayEquals(new long[]{101, 7668, 15743, 102}, tokenizer.encode("Café  naïve", 128));
        assertEquals(List.of("a", "-", "b", "(", "c", ")"), WordPieceTokenizer.words("A-b (c)"));
    }

    @Test
    void truncatesAndPadsABatchWithItsMask() {
        assertEquals(5, tokenizer.encode("one two three four five six seven", 5).length);
        OnnxTransformerRunner.TokenBatch b = tokenizer.batch(List.of("hello world", "hello"), 128);
        assertArrayEquals(new long[]{101, 7592, 2088, 102}, b.ids()[0]);
        assertArrayEquals(new long[]{101, 7592, 102, 0}, b.ids()[1]);
        assertArrayEquals(new long[]{1, 1, 1, 0}, b.mask()[1]);
    }

    @Test
    void otherTokenizerKindsAreRefusedByName() {
        String bpe = "{\"normalizer\":null,\"model\":{\"type\":\"BPE\",\"vocab\":{}}}";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WordPieceTokenizer.read(new ByteArrayInputStream(bpe.getBytes(StandardCharsets.UTF_8)), "llama/tokenizer.json"));
        assertTrue(e.getMessage().contains("llama/tokenizer.json") && e.getMessage().contains("BPE"), e.getMessage());
    }
}
