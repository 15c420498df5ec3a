package io.iteris.bench.perf;

import io.iteris.core.AtomicFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A benchmark's rows: printed as a Markdown table, written as CSV. */
final class ResultTable {
    private final List<String> columns;
    private final List<List<String>> rows = new ArrayList<>();

    ResultTable(String... columns) {
        this.columns = List.of(columns);
    }

    /** Numbers print with up to 4 significant decimals; strings as they are. */
    void add(Object... cells) {
        if (cells.length != columns.size()) {
            throw new IllegalArgumentException(cells.length + " cells for " + columns.size() + " columns");
        }
        List<String> row = new ArrayList<>();
        for (Object c : cells) {
            row.add(c instanceof Double d ? format(d) : String.valueOf(c));
        }
        rows.add(row);
    }

    static String format(double d) {
        if (Double.isNaN(d)) {
            return "";
        }
        double a = Math.abs(d);
        return String.format(Locale.ROOT, a >= 100 ? "%.1f" : a >= 1 ? "%.3f" : "%.4f", d);
    }

    String markdown() {
        StringBuilder sb = new StringBuilder("| ").append(String.join(" | ", columns)).append(" |\n|");
        columns.forEach(c -> sb.append("---:|"));
        sb.append('\n');
        rows.forEach(r -> sb.append("| ").append(String.join(" | ", r)).append(" |\n"));
        return sb.toString();
    }

    void writeCsv(Path file) {
        StringBuilder sb = new StringBuilder(csvLine(columns));
        rows.forEach(r -> sb.append(csvLine(r)));
        AtomicFiles.writeString(file, sb.toString());
    }

    /** RFC 4180: a cell holding a comma or a quote is quoted. */
    private static String csvLine(List<String> cells) {
        return String.join(",", cells.stream().map(c -> c.contains(",") || c.contains("\"")
                ? "\"" + c.replace("\"", "\"\"") + "\"" : c).toList()) + "\n";
    }

    int size() {
        return rows.size();
    }
}
