package io.iteris.core.safetensors;

import java.util.Locale;

/** Element types of the safetensors format. Only the floating-point ones convert to numbers here. */
public enum DType {
    F64(8, true), F32(4, true), F16(2, true), BF16(2, true),
    I64(8, false), I32(4, false), I16(2, false), I8(1, false), U8(1, false), BOOL(1, false),
    F8_E4M3(1, false), F8_E5M2(1, false);

    private final int bytes;
    private final boolean floating;

    DType(int bytes, boolean floating) {
        this.bytes = bytes;
        this.floating = floating;
    }

    public int bytes() {
        return bytes;
    }

    /** Whether {@link SafetensorsFile} can convert values of this type to float/double. */
    public boolean isConvertible() {
        return floating;
    }

    /** Parses a header dtype string; null when the string names no known type. */
    public static DType parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
