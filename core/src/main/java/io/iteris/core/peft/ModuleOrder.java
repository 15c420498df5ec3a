package io.iteris.core.peft;

import java.util.Comparator;

/** Orders module names naturally: digit runs compare as numbers, so layers.2 comes before layers.10. */
public final class ModuleOrder {
    public static final Comparator<String> COMPARATOR = ModuleOrder::compare;

    private ModuleOrder() {
    }

    static int compare(String x, String y) {
        int i = 0;
        int j = 0;
        while (i < x.length() && j < y.length()) {
            char a = x.charAt(i);
            char b = y.charAt(j);
            if (Character.isDigit(a) && Character.isDigit(b)) {
                int si = i;
                int sj = j;
                while (i < x.length() && Character.isDigit(x.charAt(i))) {
                    i++;
                }
                while (j < y.length() && Character.isDigit(y.charAt(j))) {
                    j++;
                }
                int c = new java.math.BigInteger(x.substring(si, i)).compareTo(new java.math.BigInteger(y.substring(sj, j)));
                if (c != 0) {
                    return c;
                }
            } else {
                if (a != b) {
                    return Character.compare(a, b);
                }
                i++;
                j++;
            }
        }
        return Integer.compare(x.length() - i, y.length() - j);
    }
}
