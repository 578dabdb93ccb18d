package org.lifeboat.rig.hive;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Creates a metastore's schema in an empty embedded Derby database with Hive's own script
 * ({@code hive-schema-4.0.0.derby.sql} from the metastore's binary distribution, which the Maven
 * build unpacks onto this jar's classpath): what {@code schematool -initSchema} does on a real
 * installation. The script also seeds what the metastore expects to find (the default catalog,
 * the notification sequence and its DataNucleus sequence row, the schema version), so the schema
 * is complete before the metastore serves its first call.
 *
 * <p>Why not let DataNucleus create tables as they are first used ({@code autoCreateAll}):
 * measured, the first DDL (create_database) then waits on a lock held by DataNucleus' own
 * schema connection until Derby's 60 s lock timeout ends it; and the transaction tables (TXNS,
 * TXN_COMPONENTS, ...) are not DataNucleus classes at all (drop_database then logs "Cannot
 * perform cleanup since metastore table does not exist"; ACID calls would fail).
 *
 * <p>Thread-safety: stateless; each call uses its own connection.
 */
final class DerbySchema {
  static final String SCRIPT = "hive-schema/hive-schema-4.0.0.derby.sql";

  private DerbySchema() {}

  /** The script's text, from the classpath; an error names the resource when it is missing. */
  static String script() throws IOException {
    try (InputStream in = DerbySchema.class.getClassLoader().getResourceAsStream(SCRIPT)) {
      if (in == null) {
        throw new IOException(SCRIPT + " is not on the classpath: rebuild the rig (the Maven "
            + "build unpacks it from hive-standalone-metastore-server's bin tarball)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** The statements of a script: "--" comment lines dropped, split at a ';' ending a line. */
  static List<String> statements(String script) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String line : script.split("\n")) {
      String t = line.strip();
      if (t.isEmpty() || t.startsWith("--")) {
        continue;
      }
      if (t.endsWith(";")) {
        cur.append(t, 0, t.length() - 1);
        out.add(cur.toString().strip());
        cur.setLength(0);
      } else {
        cur.append(t).append('\n');
      }
    }
    if (!cur.toString().isBlank()) {
      out.add(cur.toString().strip());
    }
    return out;
  }

  /**
   * Makes {@code db} (a Derby database directory that must not exist) a copy of a database on
   * which {@code script} ran. The first call creates that database once, under {@code cacheDir}
   * (named by the script's digest, created beside and renamed, so a half-made one is never used),
   * and shuts it down; later calls (and later starts of the rig) only copy its files. Copying a
   * cleanly shut down Derby database is Derby's documented offline backup. Returns whether the
   * schema had to be created.
   */
  static boolean copyOrCreate(Path db, String script, Path cacheDir) throws Exception {
    Path template = cacheDir.resolve("derby-schema-" + digest(script));
    boolean created = false;
    synchronized (DerbySchema.class) {
      if (!Files.isDirectory(template)) {
        Path tmp = cacheDir.resolve(template.getFileName() + ".tmp" + ProcessHandle.current().pid());
        deleteTree(tmp);
        Files.createDirectories(cacheDir);
        create("jdbc:derby:;databaseName=" + tmp + ";create=true", script);
        shutdown(tmp.toString());
        Files.move(tmp, template, StandardCopyOption.ATOMIC_MOVE);
        created = true;
      }
    }
    copyTree(template, db);
    return created;
  }

  /** Shuts Derby's copy of one database down (its files are then consistent on disk). */
  static void shutdown(String db) throws SQLException {
    try {
      DriverManager.getConnection("jdbc:derby:;databaseName=" + db + ";shutdown=true").close();
    } catch (SQLException e) {
      // Derby reports the successful shutdown of one database as SQLState 08006.
      if (!"08006".equals(e.getSQLState())) {
        throw e;
      }
    }
  }

  private static String digest(String text) throws Exception {
    byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(d, 0, 8);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Files.copy(p, to.resolve(from.relativize(p).toString()));
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  /** Runs every statement of {@code script} in one transaction on the database at {@code url}. */
  static int create(String url, String script) throws SQLException {
    List<String> stmts = statements(script);
    try (Connection c = DriverManager.getConnection(url)) {
      c.setAutoCommit(false);
      try (Statement st = c.createStatement()) {
        for (String sql : stmts) {
          try {
            st.execute(sql);
          } catch (SQLException e) {
            throw new SQLException("schema statement failed: " + sql + ": " + e.getMessage(), e);
          }
        }
      }
      c.commit();
    }
    return stmts.size();
  }
}
