package io.iteris.deploy;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/iteris}: parses the command line and hands over to one sub-command. */
@Command(name = "iteris", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Merges LoRA adapters of one base model into one adapter (IterIS and baselines).",
        subcommands = {MergeCommand.class, CalibrateCommand.class, NodeCommand.class, EventsCommand.class, VectorsCommand.class, DemoCommand.class, TrainDemoCommand.class, TrainTextCommand.class, BenchCommand.class, ChaosCommand.class, StatusCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        // Initialise logging before any library thread logs, so nothing is queued and replayed.
        org.slf4j.LoggerFactory.getLogger(Main.class);
        // One OpenBLAS for the process and its kernel checked before ND4J or any command loads it: a wrong kernel stops
        // here with one line naming it, not later inside a merge.
        try {
            io.iteris.core.linalg.NativeMath.ensureReady();
        } catch (IllegalStateException e) {
            System.err.println("iteris: error: " + e.getMessage());
            System.exit(2);
        }
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            // A user error gets one clear line; a bug keeps its stack trace.
            if (e instanceof IllegalArgumentException || e instanceof io.iteris.core.safetensors.SafetensorsException
                    || e instanceof io.iteris.core.peft.AdapterException || e instanceof java.io.UncheckedIOException
                    || e instanceof IllegalStateException) {
                cmd.getErr().println("iteris: error: " + e.getMessage());
            } else {
                e.printStackTrace(cmd.getErr());
            }
            return 2;
        });
        return cl;
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"iteris " + (v == null ? "development build" : v)};
        }
    }
}
