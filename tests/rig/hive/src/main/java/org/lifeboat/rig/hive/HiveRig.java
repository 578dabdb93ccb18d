package org.lifeboat.rig.hive;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.PersistenceManagerProvider;
import org.apache.hadoop.hive.metastore.api.ThriftHiveMetastore;
import org.apache.hadoop.hive.metastore.conf.MetastoreConf;
import org.apache.hadoop.hive.metastore.conf.MetastoreConf.ConfVars;
import org.apache.hadoop.hive.metastore.messaging.json.JSONMessageEncoder;
import org.apache.hadoop.hive.metastore.messaging.json.gzip.GzipJSONMessageEncoder;
import org.apache.hadoop.hive.metastore.security.HadoopThriftAuthBridge;
import org.apache.hadoop.hive.metastore.utils.MetastoreVersionInfo;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.transport.TSocket;
import org.lifeboat.rig.Rig;

/**
 * Hive metastore rig: two standalone metastores (Hive 4.0.1), "primary" and "secondary", in one
 * JVM, each with its own embedded Derby database and warehouse directories under the work
 * directory, serving unframed binary Thrift on 127.0.0.1 (no SASL). Options (besides those of
 * {@link Rig}):
 *
 * <pre>
 *   --conf.KEY VALUE    any metastore setting for both, e.g. --conf.metastore.server.min.threads 8
 *   --schema-cache DIR  where the Derby database with Hive's schema is made once and copied
 *                       from at each start (default: schema-cache/ beside the jar)
 * </pre>
 *
 * <p>The primary logs notification events as gzip(json-2.0) (Hive's default), the secondary as
 * json-2.0, so that a client is tested against both message formats; each cluster's {@code
 * message_format} says which.
 *
 * <p>Deleting notification events (what Hive's event cleaner does to old events): a test writes
 * an event id N to the cluster's {@code clean_events_request} file ({@code
 * <control_dir>/clean-events-<cluster>}; write beside it, then rename). The launcher polls every
 * 100 ms, deletes that metastore's events with ids up to N, and deletes the request ({@code
 * clean-events-<cluster>.failed} with the reason appears instead if it fails).
 *
 * <p>Two metastores in one JVM: Hive keeps its DataNucleus PersistenceManagerFactory in a static
 * field and replaces it whenever a RawStore is created with another database URL. {@code
 * PersistenceManagerProvider.setTwoMetastoreTesting(true)} (Hive's own switch for this) stops it
 * from closing the replaced factory, whose PersistenceManagers the other metastore's threads
 * still use. A RawStore is created under a lock (HMSHandler.getMSForConf) for each connection
 * a handler thread serves, so it keeps the factory of its own metastore. Without the switch,
 * the primary's calls fail with "Persistence Manager has been closed" once the secondary has
 * served one (measured). The factories replaced this way must not keep a connection pool each
 * (see CONNECTION_POOLING_TYPE below).
 */
public final class HiveRig {
  private HiveRig() {}

  public static void main(String[] argv) {
    Rig.run("hive", argv, HiveRig::start);
  }

  private record Cluster(String name, Path base, String derbyUrl, int port) {}

  private static Map<String, Object> start(Rig.Args args, Rig.Closer closer) throws Exception {
    // Derby writes its log to derby.log in the current directory (wherever rig.sh was run
    // from) unless told otherwise.
    System.setProperty("derby.stream.error.file",
        args.workDir().resolve("derby.log").toAbsolutePath().toString());
    PersistenceManagerProvider.setTwoMetastoreTesting(true);
    String script = DerbySchema.script();
    Path controlDir = args.workDir().resolve("control");
    Files.createDirectories(controlDir);
    Map<String, Object> clusters = new LinkedHashMap<>();
    Map<String, Cluster> running = new LinkedHashMap<>();
    for (String name : List.of("primary", "secondary")) {
      String encoder = name.equals("primary") ? GzipJSONMessageEncoder.class.getName()
                                              : JSONMessageEncoder.class.getName();
      String format = name.equals("primary") ? GzipJSONMessageEncoder.FORMAT
                                             : JSONMessageEncoder.FORMAT;
      Cluster c = startCluster(args, name, encoder, script, closer);
      running.put(name, c);
      Map<String, Object> ep = new LinkedHashMap<>();
      ep.put("thrift", "127.0.0.1:" + c.port());
      ep.put("uri", "thrift://127.0.0.1:" + c.port());
      ep.put("message_format", format);
      ep.put("warehouse", fsUri(c.base().resolve("warehouse")));
      ep.put("external_warehouse", fsUri(c.base().resolve("external")));
      ep.put("base_dir", c.base().toAbsolutePath().toString());
      ep.put("clean_events_request",
          controlDir.resolve("clean-events-" + name).toAbsolutePath().toString());
      clusters.put(name, ep);
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("version", MetastoreVersionInfo.getVersion());
    fields.put("control_dir", controlDir.toAbsolutePath().toString());
    fields.put("clusters", clusters);
    Thread poller = new Thread(() -> pollRequests(controlDir, running), "hive-rig-control");
    poller.setDaemon(true);
    poller.start();
    return fields;
  }

  private static Cluster startCluster(Rig.Args args, String name, String encoder, String script,
      Rig.Closer closer) throws Exception {
    long t0 = System.nanoTime();
    Path base = args.workDir().resolve(name).toAbsolutePath();
    Files.createDirectories(base);
    String db = base.resolve("metastore_db").toString();
    String url = "jdbc:derby:;databaseName=" + db + ";create=true";
    boolean created = DerbySchema.copyOrCreate(Path.of(db), script, schemaCacheDir(args));
    // Stops Derby's copy of this database at exit (the data is wiped at the next start anyway;
    // this only ends it cleanly).
    closer.add(() -> DerbySchema.shutdown(db));
    long tSchema = System.nanoTime();

    Configuration conf = MetastoreConf.newMetastoreConf();
    MetastoreConf.setVar(conf, ConfVars.CONNECT_URL_KEY, url);
    MetastoreConf.setVar(conf, ConfVars.CONNECTION_DRIVER, "org.apache.derby.jdbc.EmbeddedDriver");
    // The schema script recorded version 4.0.0, which 4.0.1 accepts: verification stays on, as
    // on a real installation.
    MetastoreConf.setBoolVar(conf, ConfVars.SCHEMA_VERIFICATION, true);
    MetastoreConf.setBoolVar(conf, ConfVars.AUTO_CREATE_ALL, false);
    MetastoreConf.setVar(conf, ConfVars.THRIFT_BIND_HOST, "127.0.0.1");
    MetastoreConf.setVar(conf, ConfVars.WAREHOUSE, fsUri(base.resolve("warehouse")));
    MetastoreConf.setVar(conf, ConfVars.WAREHOUSE_EXTERNAL, fsUri(base.resolve("external")));
    MetastoreConf.setVar(conf, ConfVars.TRANSACTIONAL_EVENT_LISTENERS,
        NotificationLogListener.class.getName());
    MetastoreConf.setVar(conf, ConfVars.EVENT_MESSAGE_FACTORY, encoder);
    // Without this, get_next_notification and friends demand a proxy-user privilege
    // (hadoop.proxyuser.*) that a test client has no way to get without Kerberos.
    MetastoreConf.setBoolVar(conf, ConfVars.EVENT_DB_NOTIFICATION_API_AUTH, false);
    // Each new handler thread creates its own RawStore, and so a new persistence manager factory
    // when the other metastore created the last one (see the class comment). The default keeps
    // 200 core threads, i.e. a new thread for each of the first 200 connections.
    MetastoreConf.setLongVar(conf, ConfVars.SERVER_MIN_THREADS, 4);
    MetastoreConf.setLongVar(conf, ConfVars.SERVER_MAX_THREADS, 64);
    // No connection pool: each factory would get its own HikariCP pool (threads and Derby
    // connections), and the factories replaced when the two metastores take turns are never
    // closed in two-metastore mode, so pools piled up (measured: +54 threads and +50-140 MiB per
    // run of the client's rig tests). Unpooled, a replaced factory is garbage once its
    // RawStores are gone: the live count stays at ~20 and the heap flat. Embedded Derby opens a
    // connection in well under a millisecond.
    MetastoreConf.setVar(conf, ConfVars.CONNECTION_POOLING_TYPE, "None");
    for (Map.Entry<String, String> o : args.options().entrySet()) {
      if (o.getKey().startsWith("conf.")) {
        conf.set(o.getKey().substring("conf.".length()), o.getValue());
      }
    }

    int port = freePort();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread server = new Thread(() -> {
      try {
        // The three-argument form starts no housekeeping, compactor or leader threads.
        HiveMetaStore.startMetaStore(port, HadoopThriftAuthBridge.getBridge(), conf);
      } catch (Throwable e) {
        failure.set(e);
        Rig.log("hive " + name + ": metastore stopped: " + e);
      }
    }, "hive-metastore-" + name);
    server.setDaemon(true);
    server.start();
    waitForThrift(name, port, failure);
    long t1 = System.nanoTime();
    Rig.log("hive " + name + ": thrift://127.0.0.1:" + port + " up in " + (t1 - t0) / 1_000_000
        + " ms (schema " + (created ? "created" : "copied") + " in " + (tSchema - t0) / 1_000_000
        + " ms)");
    return new Cluster(name, base, url, port);
  }

  /**
   * A local directory as the metastore writes locations: Hadoop's Path form "file:/dir" (the
   * metastore turns "file:///dir" into that too, so tests can compare what they get back).
   */
  private static String fsUri(Path dir) {
    return new org.apache.hadoop.fs.Path(dir.toAbsolutePath().toUri()).toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  /** Calls get_current_notificationEventId until it answers (at most 120 s). */
  private static void waitForThrift(String name, int port, AtomicReference<Throwable> failure)
      throws Exception {
    long deadline = System.nanoTime() + 120_000_000_000L;
    String last = "";
    while (System.nanoTime() < deadline) {
      if (failure.get() != null) {
        throw new IOException("hive " + name + ": the metastore failed to start", failure.get());
      }
      try (TSocket socket = new TSocket("127.0.0.1", port, 5000)) {
        socket.open();
        ThriftHiveMetastore.Client client =
            new ThriftHiveMetastore.Client(new TBinaryProtocol(socket));
        client.get_current_notificationEventId();
        return;
      } catch (Exception e) {
        last = e.toString();
      }
      Thread.sleep(100);
    }
    throw new IOException("hive " + name + ": no answer on 127.0.0.1:" + port
        + " within 120 s; last: " + last);
  }

  /**
   * Where the schema database made once is kept across starts: {@code --schema-cache DIR}, by
   * default beside this jar (rig.sh wipes the work directory at every start, not the jars).
   */
  private static Path schemaCacheDir(Rig.Args args) throws Exception {
    String opt = args.option("schema-cache", "");
    if (!opt.isEmpty()) {
      return Path.of(opt).toAbsolutePath();
    }
    Path jar = Path.of(HiveRig.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    return jar.getParent().resolve("schema-cache");
  }

  /** Serves the event-deletion requests in {@code controlDir} until the JVM exits. */
  private static void pollRequests(Path controlDir, Map<String, Cluster> clusters) {
    while (true) {
      for (Cluster c : clusters.values()) {
        Path req = controlDir.resolve("clean-events-" + c.name());
        if (Files.exists(req)) {
          serveCleanEvents(controlDir, req, c);
        }
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static void serveCleanEvents(Path controlDir, Path req, Cluster c) {
    Path failed = controlDir.resolve("clean-events-" + c.name() + ".failed");
    try {
      Files.deleteIfExists(failed);
      long upTo = Long.parseLong(Files.readString(req).trim());
      int n = deleteEvents(c.derbyUrl(), upTo);
      Rig.log("hive " + c.name() + ": deleted " + n + " notification events with id <= " + upTo);
      Files.deleteIfExists(req);
    } catch (Exception e) {
      Rig.log("hive " + c.name() + ": deleting notification events failed: " + e);
      try {
        Rig.writeAtomically(failed, e + "\n");
        Files.deleteIfExists(req);
      } catch (IOException io) {
        Rig.log("hive " + c.name() + ": could not report the failure: " + io);
      }
    }
  }

  /**
   * Deletes a metastore's notification events up to {@code upTo}, in its Derby database (a second
   * embedded connection beside the metastore's own), as the event cleaner's DELETE does.
   */
  private static int deleteEvents(String derbyUrl, long upTo) throws SQLException {
    try (Connection conn = DriverManager.getConnection(derbyUrl);
        PreparedStatement st =
            conn.prepareStatement("DELETE FROM \"APP\".\"NOTIFICATION_LOG\" WHERE \"EVENT_ID\" <= ?")) {
      st.setLong(1, upTo);
      return st.executeUpdate();
    }
  }
}
