package org.lifeboat.rig.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.common.utils.Time;
import org.lifeboat.rig.Rig;

/**
 * Kafka rig: two single-node KRaft clusters, "primary" and "secondary", in one JVM. Each is
 * one {@link KafkaRaftServer} in combined mode (broker and controller, node id 1), its storage
 * formatted with {@link StorageTool} at start (the production metadata version of the Kafka
 * on the classpath), bound to 127.0.0.1 on ports chosen at start and kept across restarts.
 * The same source builds the {@code kafka} system (4.x) and the {@code kafka39} system (3.9.x).
 *
 * <p>Listeners: {@code PLAINTEXT} (principal {@code User:ANONYMOUS}, a super user: what most
 * tests use), {@code SASL_PLAINTEXT} with mechanism PLAIN (users {@code lifeboat}, a super
 * user, and the ordinary users {@code alice} and {@code bob}; the password of each is the user
 * name followed by {@code -secret}), and the controller's listener. Settings: replication
 * factor and minimum ISR 1 for the internal topics (offsets, transaction state, share
 * coordinator state), {@code group.initial.rebalance.delay.ms=0}, transactions on, the
 * {@code StandardAuthorizer} with {@code allow.everyone.if.no.acl.found=true}, no automatic
 * topic creation. Options (besides those of {@link Rig}):
 *
 * <pre>
 *   --conf.KEY VALUE       any broker setting for both clusters, e.g. --conf.num.partitions 3
 *   --authorizer false     no authorizer (and no ACLs)
 * </pre>
 *
 * <p>Restarts: a test asks for one by writing the file {@code restart-<cluster>} in the
 * endpoints' {@code control_dir} (its content: milliseconds to stay down, or empty for none).
 * The launcher polls the folder every 100 ms, shuts that broker down cleanly, waits, starts it
 * again on the same ports and data, and deletes the request once the broker answers again
 * (a file {@code restart-<cluster>.failed} with the reason appears instead if it does not).
 *
 * <p>Thread-safety: {@link #main} runs once; restarts happen on one polling thread.
 */
public final class KafkaRig {
  private KafkaRig() {}

  /** The SASL/PLAIN users: name → password. {@code lifeboat} is a super user. */
  static final Map<String, String> USERS =
      Map.of("lifeboat", "lifeboat-secret", "alice", "alice-secret", "bob", "bob-secret");

  public static void main(String[] argv) {
    String version = AppInfoParser.getVersion();
    String system = version.startsWith("3.") ? "kafka39" : "kafka";
    Rig.run(system, argv, (args, closer) -> start(args, closer, version));
  }

  /** One cluster: its settings, fixed at start, and the server running now. */
  static final class Cluster implements AutoCloseable {
    final String name;
    final Properties props;
    final int brokerPort;
    final int saslPort;
    final int controllerPort;
    final String clusterId;
    final Path base;
    private KafkaRaftServer server;
    int restarts;

    Cluster(String name, Properties props, int brokerPort, int saslPort, int controllerPort,
        String clusterId, Path base) {
      this.name = name;
      this.props = props;
      this.brokerPort = brokerPort;
      this.saslPort = saslPort;
      this.controllerPort = controllerPort;
      this.clusterId = clusterId;
      this.base = base;
    }

    String bootstrap() {
      return "127.0.0.1:" + brokerPort;
    }

    synchronized void startServer() throws Exception {
      // Through reflection: KafkaConfig's superclasses live in different jars in 3.9 and 4.x,
      // which this source (built against both) need not name.
      Object config = KafkaConfig.class.getMethod("fromProps", Properties.class, boolean.class)
          .invoke(null, props, false);
      KafkaRaftServer s = (KafkaRaftServer) KafkaRaftServer.class
          .getConstructor(KafkaConfig.class, Time.class).newInstance(config, Time.SYSTEM);
      s.startup();
      server = s;
      waitUntilAnswers(bootstrap(), 60_000);
    }

    synchronized void stopServer() {
      if (server != null) {
        server.shutdown();
        server.awaitShutdown();
        server = null;
      }
    }

    @Override
    public void close() {
      stopServer();
    }
  }

  private static Map<String, Object> start(Rig.Args args, Rig.Closer closer, String version)
      throws Exception {
    boolean authorizer = Boolean.parseBoolean(args.option("authorizer", "true"));
    Path controlDir = args.workDir().resolve("control");
    Files.createDirectories(controlDir);
    Map<String, Cluster> clusters = new LinkedHashMap<>();
    Map<String, Object> eps = new LinkedHashMap<>();
    for (String name : List.of("primary", "secondary")) {
      long t0 = System.nanoTime();
      Cluster c = format(args, name, authorizer);
      closer.add(c);
      c.startServer();
      Rig.log("kafka " + name + ": " + c.bootstrap() + " up in "
          + (System.nanoTime() - t0) / 1_000_000 + " ms");
      clusters.put(name, c);
      Map<String, Object> ep = new LinkedHashMap<>();
      ep.put("bootstrap_servers", c.bootstrap());
      ep.put("sasl_plain_bootstrap_servers", "127.0.0.1:" + c.saslPort);
      ep.put("controller", "127.0.0.1:" + c.controllerPort);
      ep.put("cluster_id", c.clusterId);
      ep.put("node_id", 1);
      ep.put("log_dirs", List.of(c.props.getProperty("log.dirs")));
      ep.put("base_dir", c.base.toAbsolutePath().toString());
      ep.put("restart_request", controlDir.resolve("restart-" + name).toAbsolutePath().toString());
      eps.put(name, ep);
    }
    Map<String, Object> users = new LinkedHashMap<>();
    for (String u : List.of("lifeboat", "alice", "bob")) {
      users.put(u, USERS.get(u));
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("version", version);
    fields.put("authorizer", authorizer ? "org.apache.kafka.metadata.authorizer.StandardAuthorizer" : "");
    fields.put("super_users", List.of("User:ANONYMOUS", "User:lifeboat"));
    fields.put("sasl_mechanism", "PLAIN");
    fields.put("sasl_users", users);
    fields.put("control_dir", controlDir.toAbsolutePath().toString());
    fields.put("clusters", eps);
    Thread poller = new Thread(() -> pollRestarts(controlDir, clusters), "kafka-rig-restarts");
    poller.setDaemon(true);
    poller.start();
    return fields;
  }

  /** Picks the ports, writes the settings and formats the storage of cluster {@code name}. */
  private static Cluster format(Rig.Args args, String name, boolean authorizer) throws Exception {
    Path base = args.workDir().resolve(name);
    Path logDir = base.resolve("data");
    Files.createDirectories(base);
    int[] ports = freePorts(3);
    String clusterId = Uuid.randomUuid().toString();
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@127.0.0.1:" + ports[2]);
    p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + ports[0]
        + ",SASL_PLAINTEXT://127.0.0.1:" + ports[1] + ",CONTROLLER://127.0.0.1:" + ports[2]);
    p.setProperty("advertised.listeners",
        "PLAINTEXT://127.0.0.1:" + ports[0] + ",SASL_PLAINTEXT://127.0.0.1:" + ports[1]);
    p.setProperty("listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.setProperty("controller.listener.names", "CONTROLLER");
    p.setProperty("inter.broker.listener.name", "PLAINTEXT");
    p.setProperty("sasl.enabled.mechanisms", "PLAIN");
    StringBuilder jaas = new StringBuilder(
        "org.apache.kafka.common.security.plain.PlainLoginModule required");
    for (Map.Entry<String, String> u : USERS.entrySet()) {
      jaas.append(" user_").append(u.getKey()).append("=\"").append(u.getValue()).append('"');
    }
    p.setProperty("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas + ";");
    p.setProperty("log.dirs", logDir.toAbsolutePath().toString());
    // One node: every internal topic has one replica; few partitions, so that the first group
    // or transaction does not wait for 50 partitions to be created.
    p.setProperty("offsets.topic.replication.factor", "1");
    p.setProperty("offsets.topic.num.partitions", "4");
    p.setProperty("transaction.state.log.replication.factor", "1");
    p.setProperty("transaction.state.log.min.isr", "1");
    p.setProperty("transaction.state.log.num.partitions", "4");
    p.setProperty("share.coordinator.state.topic.replication.factor", "1");
    p.setProperty("share.coordinator.state.topic.min.isr", "1");
    p.setProperty("default.replication.factor", "1");
    p.setProperty("min.insync.replicas", "1");
    p.setProperty("group.initial.rebalance.delay.ms", "0");
    p.setProperty("auto.create.topics.enable", "false");
    p.setProperty("delete.topic.enable", "true");
    if (authorizer) {
      p.setProperty("authorizer.class.name",
          "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
      p.setProperty("allow.everyone.if.no.acl.found", "true");
      p.setProperty("super.users", "User:ANONYMOUS;User:lifeboat");
    }
    // Small threads and buffers: two clusters on a 2-core machine beside builds.
    p.setProperty("num.network.threads", "2");
    p.setProperty("num.io.threads", "2");
    p.setProperty("background.threads", "2");
    p.setProperty("num.recovery.threads.per.data.dir", "1");
    p.setProperty("log.cleaner.threads", "1");
    p.setProperty("log.cleaner.dedupe.buffer.size", String.valueOf(16 << 20));
    p.setProperty("log.cleaner.backoff.ms", "1000");
    for (Map.Entry<String, String> o : args.options().entrySet()) {
      if (o.getKey().startsWith("conf.")) {
        p.setProperty(o.getKey().substring("conf.".length()), o.getValue());
      }
    }
    Path file = base.resolve("server.properties");
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      p.store(w, "Lifeboat Kafka rig: " + name);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int rc;
    try (PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8)) {
      rc = StorageTool.execute(
          new String[] {"format", "-t", clusterId, "-c", file.toString()}, ps);
    }
    if (rc != 0) {
      throw new IOException("kafka-storage format of " + name + " failed (" + rc + "): "
          + out.toString(StandardCharsets.UTF_8));
    }
    return new Cluster(name, p, ports[0], ports[1], ports[2], clusterId, base);
  }

  /** {@code n} distinct ports that were free on 127.0.0.1 a moment ago. */
  private static int[] freePorts(int n) throws IOException {
    List<ServerSocket> held = new ArrayList<>();
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        held.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
  }

  /** Asks the broker for its cluster description until it answers (at most {@code ms}). */
  static void waitUntilAnswers(String bootstrap, long ms) throws Exception {
    Properties p = new Properties();
    p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    p.setProperty(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    long deadline = System.nanoTime() + ms * 1_000_000;
    Exception last = null;
    try (Admin admin = Admin.create(p)) {
      while (System.nanoTime() < deadline) {
        try {
          if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
            admin.listTopics().names().get(5, TimeUnit.SECONDS);
            return;
          }
        } catch (Exception e) {
          last = e;
        }
        Thread.sleep(100);
      }
    }
    throw new IOException("the broker at " + bootstrap + " did not answer within " + ms
        + " ms; last: " + last);
  }

  /** Serves the restart requests in {@code controlDir} until the JVM exits. */
  private static void pollRestarts(Path controlDir, Map<String, Cluster> clusters) {
    while (true) {
      for (Cluster c : clusters.values()) {
        Path req = controlDir.resolve("restart-" + c.name);
        if (!Files.exists(req)) {
          continue;
        }
        Path failed = controlDir.resolve("restart-" + c.name + ".failed");
        try {
          Files.deleteIfExists(failed);
          String text = Files.readString(req).trim();
          long downMs = text.isEmpty() ? 0 : Long.parseLong(text);
          long t0 = System.nanoTime();
          Rig.log("kafka " + c.name + ": restart requested (down " + downMs + " ms)");
          c.stopServer();
          long t1 = System.nanoTime();
          Thread.sleep(downMs);
          c.startServer();
          c.restarts++;
          Rig.log("kafka " + c.name + ": restarted (stop " + (t1 - t0) / 1_000_000
              + " ms, start " + (System.nanoTime() - t1) / 1_000_000 + " ms incl. down time)");
          Files.deleteIfExists(req);
        } catch (Exception e) {
          Rig.log("kafka " + c.name + ": restart failed: " + e);
          try {
            Rig.writeAtomically(failed, e + "\n");
            Files.deleteIfExists(req);
          } catch (IOException io) {
            Rig.log("kafka " + c.name + ": could not report the failure: " + io);
          }
        }
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
    }
  }
}
