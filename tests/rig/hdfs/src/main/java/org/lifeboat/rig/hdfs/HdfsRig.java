package org.lifeboat.rig.hdfs;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.util.VersionInfo;
import org.lifeboat.rig.Rig;

/**
 * HDFS rig: two MiniDFSClusters, "primary" and "secondary", each with its own base directory
 * under the work directory, NameNode and DataNodes bound to 127.0.0.1 on free ports, WebHDFS
 * on. Options (besides those of {@link Rig}):
 *
 * <pre>
 *   --datanodes N          DataNodes per cluster (default 1; replication follows, at most 3)
 *   --conf.KEY VALUE       any Hadoop setting for both clusters, e.g. --conf.dfs.blocksize 1m
 * </pre>
 *
 * The endpoints file holds, per cluster: {@code namenode_rpc} (host:port), {@code
 * namenode_http} (host:port), {@code webhdfs} (base URL), {@code user} (the superuser: the
 * JVM's user), {@code base_dir}, the DataNodes' addresses, {@code restart_request}, and
 * {@code snapshot_capture_openfiles}.
 *
 * <p>The two clusters differ in one setting, so that tests see both behaviours of snapshots
 * of files open for write: the primary keeps HDFS's default
 * ({@code dfs.namenode.snapshot.capture.openfiles} false: a snapshot does not freeze an open
 * file), the secondary turns it on (a snapshot holds an open file at the length the NameNode
 * knew). Backups primary -> secondary meet the default; points cut on the secondary meet the
 * other. {@code --conf.dfs.namenode.snapshot.capture.openfiles} sets both.
 *
 * <p>NameNode restarts: a test asks for one by writing the file {@code restart_request}
 * ({@code <control_dir>/restart-<cluster>}; its content: milliseconds to stay down, or empty).
 * The launcher polls every 100 ms, restarts that cluster's NameNode on the same ports
 * (MiniDFSCluster.restartNameNode), waits until it is active with its DataNodes, and deletes
 * the request ({@code restart-<cluster>.failed} with the reason appears instead if it fails).
 */
public final class HdfsRig {
  private HdfsRig() {}

  public static void main(String[] argv) {
    Rig.run("hdfs", argv, HdfsRig::start);
  }

  private static Map<String, Object> start(Rig.Args args, Rig.Closer closer) throws Exception {
    int datanodes = Integer.parseInt(args.option("datanodes", "1"));
    String user = UserGroupInformation.getCurrentUser().getShortUserName();
    Map<String, Object> clusters = new LinkedHashMap<>();
    Map<String, MiniDFSCluster> running = new LinkedHashMap<>();
    Path controlDir = args.workDir().resolve("control");
    Files.createDirectories(controlDir);
    for (String name : List.of("primary", "secondary")) {
      long t0 = System.nanoTime();
      MiniDFSCluster cluster = startCluster(args, name, datanodes, closer);
      running.put(name, cluster);
      Map<String, Object> ep = endpoints(cluster, args.workDir().resolve(name), user);
      ep.put(
          "snapshot_capture_openfiles",
          cluster.getConfiguration(0).getBoolean(CAPTURE_OPEN_FILES, false));
      ep.put("restart_request", controlDir.resolve("restart-" + name).toAbsolutePath().toString());
      waitForWebHdfs((String) ep.get("webhdfs"), user);
      Rig.log(
          "hdfs " + name + ": " + ep.get("namenode_http") + " up in "
              + (System.nanoTime() - t0) / 1_000_000 + " ms");
      clusters.put(name, ep);
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("version", VersionInfo.getVersion());
    fields.put("clusters", clusters);
    fields.put("control_dir", controlDir.toAbsolutePath().toString());
    Thread poller = new Thread(() -> pollRestarts(controlDir, running), "hdfs-rig-restarts");
    poller.setDaemon(true);
    poller.start();
    return fields;
  }

  /** Serves the NameNode restart requests in {@code controlDir} until the JVM exits. */
  private static void pollRestarts(Path controlDir, Map<String, MiniDFSCluster> clusters) {
    while (true) {
      for (Map.Entry<String, MiniDFSCluster> c : clusters.entrySet()) {
        Path req = controlDir.resolve("restart-" + c.getKey());
        if (!Files.exists(req)) {
          continue;
        }
        Path failed = controlDir.resolve("restart-" + c.getKey() + ".failed");
        try {
          Files.deleteIfExists(failed);
          String text = Files.readString(req).trim();
          long downMs = text.isEmpty() ? 0 : Long.parseLong(text);
          long t0 = System.nanoTime();
          Rig.log("hdfs " + c.getKey() + ": NameNode restart requested (down " + downMs + " ms)");
          c.getValue().shutdownNameNode(0);
          Thread.sleep(downMs);
          c.getValue().restartNameNode(0, true);
          c.getValue().waitActive();
          Rig.log("hdfs " + c.getKey() + ": NameNode restarted in "
              + (System.nanoTime() - t0) / 1_000_000 + " ms (incl. down time)");
          Files.deleteIfExists(req);
        } catch (Exception e) {
          Rig.log("hdfs " + c.getKey() + ": NameNode restart failed: " + e);
          try {
            Rig.writeAtomically(failed, e + "\n");
            Files.deleteIfExists(req);
          } catch (IOException io) {
            Rig.log("hdfs " + c.getKey() + ": could not report the failure: " + io);
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

  private static final String CAPTURE_OPEN_FILES = "dfs.namenode.snapshot.capture.openfiles";

  private static MiniDFSCluster startCluster(
      Rig.Args args, String name, int datanodes, Rig.Closer closer) throws IOException {
    File base = args.workDir().resolve(name).toFile();
    Configuration conf = new Configuration();
    // Two clusters in one JVM must not share the default base directory.
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getAbsolutePath());
    conf.set("dfs.namenode.rpc-address", "127.0.0.1:0");
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setBoolean("dfs.permissions.enabled", true);
    conf.setBoolean("dfs.namenode.acls.enabled", true);
    conf.setInt("dfs.replication", Math.min(datanodes, 3));
    // Tests write files larger than a block without writing 128 MiB: allow small block sizes.
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 1024);
    conf.setInt("dfs.bytes-per-checksum", 512);
    conf.setInt("dfs.namenode.safemode.extension", 0);
    // Small listing pages (default 1000), so that clients' paging is exercised by small trees.
    conf.setInt("dfs.ls.limit", 64);
    // The same for GETSNAPSHOTDIFFLISTING (default 1000 entries per answer).
    conf.setInt("dfs.namenode.snapshotdiff.listing.limit", 16);
    // Snapshots of open files: HDFS's default on the primary, frozen on the secondary.
    conf.setBoolean(CAPTURE_OPEN_FILES, name.equals("secondary"));
    for (Map.Entry<String, String> o : args.options().entrySet()) {
      if (o.getKey().startsWith("conf.")) {
        conf.set(o.getKey().substring("conf.".length()), o.getValue());
      }
    }
    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(conf, base)
            .numDataNodes(datanodes)
            .nameNodePort(0)
            .nameNodeHttpPort(0)
            .format(true)
            .build();
    closer.add(() -> cluster.shutdown(true));
    cluster.waitActive();
    return cluster;
  }

  private static Map<String, Object> endpoints(MiniDFSCluster cluster, Path base, String user) {
    InetSocketAddress rpc = cluster.getNameNode().getNameNodeAddress();
    InetSocketAddress http = cluster.getNameNode().getHttpAddress();
    String httpHostPort = hostPort(http);
    Map<String, Object> ep = new LinkedHashMap<>();
    ep.put("namenode_rpc", hostPort(rpc));
    ep.put("namenode_http", httpHostPort);
    ep.put("webhdfs", "http://" + httpHostPort + "/webhdfs/v1");
    ep.put("fs_uri", "hdfs://" + hostPort(rpc));
    ep.put("user", user);
    ep.put("base_dir", base.toAbsolutePath().toString());
    List<Object> dns = new ArrayList<>();
    for (DataNode dn : cluster.getDataNodes()) {
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("http", "127.0.0.1:" + dn.getInfoPort());
      d.put("xfer", hostPort(dn.getXferAddress()));
      dns.add(d);
    }
    ep.put("datanodes", dns);
    return ep;
  }

  private static String hostPort(InetSocketAddress a) {
    String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
    return host + ":" + a.getPort();
  }

  /** Asks WebHDFS for the root's status until it answers 200 (at most 60 s). */
  private static void waitForWebHdfs(String base, String user) throws Exception {
    URI uri =
        URI.create(
            base + "/?op=GETFILESTATUS&user.name=" + URLEncoder.encode(user, StandardCharsets.UTF_8));
    long deadline = System.nanoTime() + 60_000_000_000L;
    String last = "";
    while (System.nanoTime() < deadline) {
      try {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setConnectTimeout(2000);
        c.setReadTimeout(5000);
        int code = c.getResponseCode();
        try (InputStream in = code < 400 ? c.getInputStream() : c.getErrorStream()) {
          String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
          if (code == 200 && body.contains("\"FileStatus\"")) {
            return;
          }
          last = code + " " + body;
        }
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(200);
    }
    throw new IOException("WebHDFS at " + uri + " did not answer 200 within 60 s; last: " + last);
  }
}
