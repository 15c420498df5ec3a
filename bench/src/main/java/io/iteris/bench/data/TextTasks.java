package io.iteris.bench.data;

import io.iteris.core.model.onnx.WordPieceTokenizer;
import io.iteris.core.safetensors.DType;
import io.iteris.core.safetensors.SafetensorsException;
import io.iteris.core.safetensors.SafetensorsWriter;
import io.iteris.core.safetensors.TensorInfo;
import io.iteris.core.safetensors.TensorSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The text benchmark's eight real classification tasks, tokenised for a BERT encoder: SpamAssassin ham or
 * spam, the topic of a fortune (computers, science or politics), the sex a first name is given to, the language
 * of a fortune (English, German, Italian, Spanish or Polish), the era of the State of the Union address a passage
 * comes from (1790–1899 or 1946 on), whether an English word's valence is negative or positive, the theme of a
 * fortune (work, men and women, or songs and poems) and how many syllables an English word has (1, 2, 3, 4 or more).
 * Each is balanced over its classes and split, from one seed, into calibration (IterIS's unlabelled
 * samples), validation, test and training examples. Token ids are padded with −1 to the split's longest.
 */
public final class TextTasks {
    public enum Split { TRAIN, CALIBRATION, VALIDATION, TEST }

    /**
     * A task: its classes, the tokens its texts are cut to, how many examples per class it keeps and how many of
     * them are test examples ({@value #TEST}, or fewer where the source is too small to leave enough to train on).
     */
    public record Task(String name, List<String> classes, int maxTokens, int perClass, int test) {
        public Task(String name, List<String> classes, int maxTokens, int perClass) {
            this(name, classes, maxTokens, perClass, TEST);
        }
    }

    /** Examples of one split: token ids [N][T] (−1 = padding) and labels [N]. */
    public record TextSet(int[][] ids, int[] labels) {
        public int size() {
            return labels.length;
        }

        public int tokens() {
            return ids.length == 0 ? 0 : ids[0].length;
        }

        /** Examples [from, to). */
        public TextSet slice(int from, int to) {
            return new TextSet(java.util.Arrays.copyOfRange(ids, from, to), java.util.Arrays.copyOfRange(labels, from, to));
        }
    }

    public static final List<String> TOPICS = List.of("computers", "science", "politics");
    /** The fortune files of the second topic task: another three of Debian's larger collections. */
    public static final List<String> THEMES = List.of("work", "men-women", "songs-poems");
    public static final List<Task> TASKS = List.of(
            new Task("spam", List.of("ham", "spam"), 48, 1800),
            new Task("topic", TOPICS, 40, 620, 700),
            new Task("names", List.of("female", "male"), 8, 3400),
            new Task("language", TextSources.LANGUAGES, 40, 1000),
            new Task("sotu", List.of("early", "modern"), 48, 2500),
            new Task("valence", List.of("negative", "positive"), 8, 870, 600),
            new Task("themes", THEMES, 32, 580, 600),
            new Task("syllables", TextSources.SYLLABLES, 8, 1500));
    /** Calibration samples per task: merges take a window of them, so the benchmark can repeat over draws. */
    public static final int CALIBRATION = 256;
    public static final int VALIDATION = 300;
    public static final int TEST = 1000;
    static final long SEED = 11L;

    private final Map<String, TextSet> sets;

    private TextTasks(Map<String, TextSet> sets) {
        this.sets = sets;
    }

    public TextSet split(Task task, Split split) {
        TextSet s = sets.get(key(task.name(), split));
        if (s == null) {
            throw new IllegalArgumentException("no " + split.name().toLowerCase() + " split of task " + task.name());
        }
        return s;
    }

    public static Task task(String name) {
        return TASKS.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown text task '" + name + "'; known: "
                        + TASKS.stream().map(Task::name).toList()));
    }

    /** Every split of every task, from the unpacked sources ({@link TextSources}). */
    public static TextTasks fromSources(Path sources, WordPieceTokenizer tokenizer) {
        Map<String, TextSet> sets = new LinkedHashMap<>();
        for (Task task : TASKS) {
            List<List<String>> byClass = switch (task.name()) {
                case "spam" -> TextSources.spam(sources);
                case "topic" -> TextSources.fortunes(sources, TOPICS);
                case "names" -> TextSources.names(sources);
                case "language" -> TextSources.languages(sources);
                case "sotu" -> TextSources.stateOfTheUnion(sources);
                case "valence" -> TextSources.valence(sources);
                case "themes" -> TextSources.fortunes(sources, THEMES);
                case "syllables" -> TextSources.syllables(sources);
                default -> throw new IllegalStateException(task.name());
            };
            List<String> texts = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            SplittableRandom rng = new SplittableRandom(SEED + task.name().hashCode());
            for (int c = 0; c < byClass.size(); c++) {
                List<String> items = byClass.get(c);
                if (items.size() < task.perClass()) {
                    throw new IllegalArgumentException(task.name() + ": class " + task.classes().get(c) + " has "
                            + items.size() + " examples, fewer than the " + task.perClass() + " the task keeps");
                }
                int[] order = Shuffles.permutation(items.size(), rng);
                for (int i = 0; i < task.perClass(); i++) {
                    texts.add(items.get(order[i]));
                    labels.add(c);
                }
            }
            int[] order = Shuffles.permutation(texts.size(), rng);
            int start = 0;
            for (Split split : List.of(Split.CALIBRATION, Split.VALIDATION, Split.TEST, Split.TRAIN)) {
                int n = switch (split) {
                    case CALIBRATION -> CALIBRATION;
                    case VALIDATION -> VALIDATION;
                    case TEST -> task.test();
                    case TRAIN -> texts.size() - start;
                };
                List<long[]> seqs = new ArrayList<>();
                int[] y = new int[n];
                for (int i = 0; i < n; i++) {
                    seqs.add(tokenizer.encode(texts.get(order[start + i]), task.maxTokens()));
                    y[i] = labels.get(order[start + i]);
                }
                start += n;
                sets.put(key(task.name(), split), new TextSet(padded(seqs), y));
            }
        }
        return new TextTasks(sets);
    }

    /** The shipped splits (calibration, validation, test) from {@code data.safetensors}. */
    public static TextTasks load(Path file) {
        TensorSource src = TensorSource.open(file);
        Map<String, TextSet> sets = new LinkedHashMap<>();
        for (Task task : TASKS) {
            for (Split split : List.of(Split.CALIBRATION, Split.VALIDATION, Split.TEST)) {
                String k = key(task.name(), split);
                TensorInfo ids = src.info(k + ".input_ids");
                long[] flatIds = src.readIntegers(k + ".input_ids");
                long[] y = src.readIntegers(k + ".labels");
                if (ids.rank() != 2 || ids.shape()[0] != y.length) {
                    throw new SafetensorsException(file, k + ".input_ids", "is " + ids.shapeString() + " for " + y.length + " labels");
                }
                int n = (int) ids.shape()[0];
                int t = (int) ids.shape()[1];
                int[][] rows = new int[n][t];
                int[] labels = new int[n];
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < t; j++) {
                        rows[i][j] = (int) flatIds[i * t + j];
                    }
                    labels[i] = (int) y[i];
                }
                sets.put(k, new TextSet(rows, labels));
            }
        }
        return new TextTasks(sets);
    }

    /** Writes the calibration, validation and test splits (the training split stays with the sources). */
    public void write(Path file) {
        SafetensorsWriter w = new SafetensorsWriter();
        for (Task task : TASKS) {
            for (Split split : List.of(Split.CALIBRATION, Split.VALIDATION, Split.TEST)) {
                TextSet s = split(task, split);
                String k = key(task.name(), split);
                w.add(k + ".input_ids", DType.I32, new long[]{s.size(), s.tokens()}, flat(s.ids()));
                double[] y = new double[s.size()];
                for (int i = 0; i < y.length; i++) {
                    y[i] = s.labels()[i];
                }
                w.add(k + ".labels", DType.I32, new long[]{s.size()}, y);
            }
        }
        w.write(file);
    }

    /** Token ids as a [S, T, 1] calibration tensor for the ONNX runner: −1 marks padding. */
    public static double[] flat(int[][] ids) {
        int t = ids.length == 0 ? 0 : ids[0].length;
        double[] out = new double[ids.length * t];
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < t; j++) {
                out[i * t + j] = ids[i][j];
            }
        }
        return out;
    }

    static int[][] padded(List<long[]> seqs) {
        int len = seqs.stream().mapToInt(s -> s.length).max().orElse(0);
        int[][] out = new int[seqs.size()][len];
        for (int i = 0; i < seqs.size(); i++) {
            java.util.Arrays.fill(out[i], -1);
            for (int j = 0; j < seqs.get(i).length; j++) {
                out[i][j] = Math.toIntExact(seqs.get(i)[j]);
            }
        }
        return out;
    }

    private static String key(String task, Split split) {
        return task + "." + split.name().toLowerCase();
    }
}
