package io.iteris.core.merge;

/** The descriptive half of a {@link MergeMethod} (name, display name, paper, data needs), held as data. */
abstract class DescribedMethod implements MergeMethod {
    private final String name;
    private final String displayName;
    private final String reference;
    private final DataNeeds dataNeeds;

    DescribedMethod(String name, String displayName, String reference, DataNeeds dataNeeds) {
        this.name = name;
        this.displayName = displayName;
        this.reference = reference;
        this.dataNeeds = dataNeeds;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String displayName() {
        return displayName;
    }

    @Override
    public final String reference() {
        return reference;
    }

    @Override
    public final DataNeeds dataNeeds() {
        return dataNeeds;
    }
}
