package org.lifeboat.rig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;

/**
 * The life of one launcher process, the same for every system: parse the common arguments,
 * start the system's instances, write their endpoints atomically once they all answer, then
 * stay up until SIGTERM/SIGINT (or until the watched process exits), remove the endpoints
 * file and stop the instances in reverse order of start.
 *
 * <p>Arguments every launcher takes:
 *
 * <pre>
 *   --work-dir DIR        where the instances keep their data (wiped by the launcher's system)
 *   --endpoints FILE      the JSON file to write once everything answers
 *   --exit-with-pid PID   optional: stop when that process ends (no orphaned clusters)
 * </pre>
 *
 * Other {@code --key value} pairs are passed to the system in {@link Args#options}.
 *
 * <p>The endpoints file is {@code {"system": ..., "pid": ..., "started_ms": ..., <system's
 * fields>}}; it appears only when complete (written beside, then renamed), so a reader that
 * sees it may use every endpoint in it.
 *
 * <p>Thread-safety: {@link #run} is called once, from {@code main}.
 */
public final class Rig {
  private Rig() {}

  /** The parsed command line. */
  public record Args(Path workDir, Path endpoints, long exitWithPid, Map<String, String> options) {
    /** The option {@code --name}, or {@code fallback} when it was not given. */
    public String option(String name, String fallback) {
      return options.getOrDefault(name, fallback);
    }
  }

  /** Things to stop at shutdown, closed in reverse order of registration. */
  public static final class Closer {
    private final Deque<AutoCloseable> stack = new ArrayDeque<>();

    /** Registers {@code c} and returns it. */
    public synchronized <T extends AutoCloseable> T add(T c) {
      stack.push(c);
      return c;
    }

    synchronized void closeAll() {
      while (!stack.isEmpty()) {
        AutoCloseable c = stack.pop();
        try {
          c.close();
        } catch (Exception e) {
          log("stop: " + e);
        }
      }
    }
  }

  /** What a system does at start: start its instances, return their endpoints. */
  @FunctionalInterface
  public interface Starter {
    /**
     * Starts the instances and returns only when each one answers. Registers everything that
     * must be stopped with {@code closer} as soon as it is started, so that a failure half-way
     * still stops what did start. Returns the system's fields of the endpoints file.
     */
    Map<String, Object> start(Args args, Closer closer) throws Exception;
  }

  /** Prints to stderr with a prefix that names the rig: the launcher's log is its stderr. */
  public static void log(String message) {
    System.err.println("[rig] " + message);
    System.err.flush();
  }

  /** Runs a launcher; never returns normally (exits 0 after a stop, 1 or 2 on failure). */
  public static void run(String system, String[] argv, Starter starter) {
    Args args;
    try {
      args = parse(argv);
    } catch (IllegalArgumentException e) {
      log(e.getMessage());
      log("usage: --work-dir DIR --endpoints FILE [--exit-with-pid PID] [--option value ...]");
      System.exit(2);
      return;
    }
    long t0 = System.nanoTime();
    Closer closer = new Closer();
    // Stop on SIGTERM/SIGINT in an ordinary thread, not in a JVM shutdown hook: Hadoop's
    // services remove their own shutdown hooks while stopping, which throws once the JVM is
    // already shutting down and leaves them half-stopped.
    CountDownLatch stopRequested = new CountDownLatch(1);
    for (String sig : new String[] {"TERM", "INT"}) {
      Signal.handle(
          new Signal(sig),
          s -> {
            log("SIG" + sig + " received");
            stopRequested.countDown();
          });
    }
    Map<String, Object> doc = new LinkedHashMap<>();
    try {
      Files.createDirectories(args.workDir());
      Files.deleteIfExists(args.endpoints());
      Map<String, Object> fields = starter.start(args, closer);
      doc.put("system", system);
      doc.put("pid", ProcessHandle.current().pid());
      doc.put("started_ms", (System.nanoTime() - t0) / 1_000_000);
      doc.putAll(fields);
      writeAtomically(args.endpoints(), Json.write(doc));
    } catch (Throwable e) {
      log(system + ": failed to start: " + e);
      e.printStackTrace();
      closer.closeAll();
      System.exit(1);
      return;
    }
    log(system + ": up in " + doc.get("started_ms") + " ms; endpoints in " + args.endpoints());
    if (args.exitWithPid() > 0) {
      ProcessHandle.of(args.exitWithPid())
          .ifPresentOrElse(
              p ->
                  p.onExit()
                      .thenRun(
                          () -> {
                            log("process " + args.exitWithPid() + " ended");
                            stopRequested.countDown();
                          }),
              () -> {
                log("process " + args.exitWithPid() + " is already gone");
                stopRequested.countDown();
              });
    }
    try {
      stopRequested.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long s0 = System.nanoTime();
    log(system + ": stopping");
    try {
      Files.deleteIfExists(args.endpoints());
    } catch (IOException e) {
      log("could not remove " + args.endpoints() + ": " + e);
    }
    closer.closeAll();
    log(system + ": stopped in " + (System.nanoTime() - s0) / 1_000_000 + " ms");
    System.exit(0);
  }

  /** Writes {@code text} to a file beside {@code file}, then renames it over {@code file}. */
  public static void writeAtomically(Path file, String text) throws IOException {
    Path abs = file.toAbsolutePath();
    Files.createDirectories(abs.getParent());
    Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  static Args parse(String[] argv) {
    Path workDir = null;
    Path endpoints = null;
    long pid = 0;
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < argv.length; i++) {
      String key = argv[i];
      if (!key.startsWith("--") || i + 1 >= argv.length) {
        throw new IllegalArgumentException("expected --name value, got '" + key + "'");
      }
      String value = argv[++i];
      switch (key) {
        case "--work-dir" -> workDir = Path.of(value);
        case "--endpoints" -> endpoints = Path.of(value);
        case "--exit-with-pid" -> {
          try {
            pid = Long.parseLong(value);
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--exit-with-pid wants a number, got " + value);
          }
        }
        default -> options.put(key.substring(2), value);
      }
    }
    if (workDir == null || endpoints == null) {
      throw new IllegalArgumentException("--work-dir and --endpoints are required");
    }
    return new Args(workDir, endpoints, pid, options);
  }
}
