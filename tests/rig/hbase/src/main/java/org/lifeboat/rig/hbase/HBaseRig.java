package org.lifeboat.rig.hbase;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.HBaseTestingUtility;
import org.apache.hadoop.hbase.ServerName;
import org.apache.hadoop.hbase.testing.TestingHBaseCluster;
import org.apache.hadoop.hbase.testing.TestingHBaseClusterOption;
import org.apache.hadoop.hbase.thrift2.ThriftServer;
import org.apache.hadoop.hbase.thrift2.generated.THBaseService;
import org.apache.hadoop.hbase.util.VersionInfo;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.thrift.TConfiguration;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.transport.TSocket;
import org.lifeboat.rig.Rig;

/**
 * HBase rig: two HBase 2.6.1 clusters, "primary" and "secondary", each a {@link
 * TestingHBaseCluster} with one master, one region server and one DataNode, its own
 * MiniZooKeeper and MiniDFS; and per cluster an in-process Thrift2 server (the {@code
 * hbase-thrift} one: unframed binary protocol, thread pool server). Everything listens on
 * 127.0.0.1; the web UIs are off. Options (besides those of {@link Rig}):
 *
 * <pre>
 *   --conf.KEY VALUE       any HBase/Hadoop setting for both clusters
 * </pre>
 *
 * The endpoints file holds, per cluster: {@code zk_quorum} (host:port), {@code thrift2}
 * (host:port), {@code master_rpc} (host:port of the active master), {@code root_dir} (the
 * hbase.rootdir URI on the cluster's HDFS), {@code root_path} (its path), {@code fs_uri},
 * {@code namenode_http} and {@code webhdfs} (the cluster's NameNode, WebHDFS on), {@code user}
 * (the JVM's user: the HDFS superuser, and the owner of HBase's files).
 */
public final class HBaseRig {
  private HBaseRig() {}

  public static void main(String[] argv) {
    Rig.run("hbase", argv, HBaseRig::start);
  }

  private static Map<String, Object> start(Rig.Args args, Rig.Closer closer) throws Exception {
    String user = UserGroupInformation.getCurrentUser().getShortUserName();
    // HBaseTestingUtility puts each cluster's local files (MiniZK, MiniDFS, logs) in a random
    // directory under this base; the clusters start one after the other, since it also sets
    // JVM-wide properties (test.build.data, hadoop.log.dir) for the cluster being started.
    System.setProperty(
        "test.build.data.basedirectory", args.workDir().toAbsolutePath().toString());
    Map<String, Object> clusters = new LinkedHashMap<>();
    for (String name : List.of("primary", "secondary")) {
      long t0 = System.nanoTime();
      Map<String, Object> ep = startCluster(args, name, user, closer);
      Rig.log(
          "hbase " + name + ": master " + ep.get("master_rpc") + ", thrift2 " + ep.get("thrift2")
              + " up in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
      clusters.put(name, ep);
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("version", VersionInfo.getVersion());
    fields.put("thrift2_transport", "buffered");
    fields.put("thrift2_protocol", "binary");
    fields.put("clusters", clusters);
    return fields;
  }

  private static Map<String, Object> startCluster(
      Rig.Args args, String name, String user, Rig.Closer closer) throws Exception {
    Configuration conf = HBaseConfiguration.create();
    // Loopback only, and no web UIs (two clusters would fight over their fixed ports).
    conf.set("hbase.master.hostname", "127.0.0.1");
    conf.set("hbase.unsafe.regionserver.hostname", "127.0.0.1");
    conf.set("hbase.master.ipc.address", "127.0.0.1");
    conf.set("hbase.regionserver.ipc.address", "127.0.0.1");
    conf.setInt("hbase.master.info.port", -1);
    conf.setInt("hbase.regionserver.info.port", -1);
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setInt("hbase.thrift.info.port", -1);
    for (Map.Entry<String, String> o : args.options().entrySet()) {
      if (o.getKey().startsWith("conf.")) {
        conf.set(o.getKey().substring("conf.".length()), o.getValue());
      }
    }
    TestingHBaseCluster cluster =
        TestingHBaseCluster.create(
            TestingHBaseClusterOption.builder()
                .conf(conf)
                .numMasters(1)
                .numRegionServers(1)
                .numDataNodes(1)
                .dataNodeHosts(new String[] {"127.0.0.1"})
                .build());
    closer.add(cluster::stop);
    cluster.start();
    Configuration live = cluster.getConf();

    int thriftPort = freePort();
    ThriftServer thrift = new ThriftServer(live);
    Thread serve =
        new Thread(
            () -> {
              try {
                thrift.run(new String[] {"-b", "127.0.0.1", "-p", "" + thriftPort, "-threadpool"});
              } catch (Exception e) {
                Rig.log("hbase " + name + ": thrift2 server ended: " + e);
              }
            },
            "thrift2-" + name);
    serve.setDaemon(true);
    serve.start();
    closer.add(thrift::stop);
    waitForThrift2("127.0.0.1", thriftPort);

    ServerName master =
        cluster
            .getActiveMasterAddress()
            .orElseThrow(() -> new IOException("no active master in cluster " + name));
    HBaseTestingUtility util = utilOf(cluster);
    MiniDFSCluster dfs = util.getDFSCluster();
    if (dfs == null) {
      throw new IOException("cluster " + name + " has no mini DFS");
    }
    InetSocketAddress http = dfs.getNameNode().getHttpAddress();
    String namenodeHttp = "127.0.0.1:" + http.getPort();
    String rootDir = live.get("hbase.rootdir");
    URI root = URI.create(rootDir);
    waitForWebHdfs("http://" + namenodeHttp + "/webhdfs/v1", root.getPath(), user);

    Map<String, Object> ep = new LinkedHashMap<>();
    ep.put(
        "zk_quorum",
        live.get("hbase.zookeeper.quorum") + ":" + live.get("hbase.zookeeper.property.clientPort"));
    ep.put("zk_znode_parent", live.get("zookeeper.znode.parent", "/hbase"));
    ep.put("thrift2", "127.0.0.1:" + thriftPort);
    ep.put("master_rpc", master.getHostname() + ":" + master.getPort());
    ep.put("root_dir", rootDir);
    ep.put("root_path", root.getPath());
    ep.put("fs_uri", live.get("fs.defaultFS"));
    ep.put("namenode_http", namenodeHttp);
    ep.put("webhdfs", "http://" + namenodeHttp + "/webhdfs/v1");
    ep.put("user", user);
    // The cluster's local files (MiniZK, the DFS's blocks, logs): a random directory that
    // HBaseTestingUtility picked under the work directory.
    ep.put("base_dir", new java.io.File(util.getDataTestDir().toString()).getAbsolutePath());
    return ep;
  }

  /**
   * The utility under a TestingHBaseCluster: its interface does not expose the MiniDFSCluster,
   * whose NameNode HTTP address (WebHDFS) the tests need, nor the local data directory; read
   * them from the implementation's private field (TestingHBaseClusterImpl.util in 2.6.1).
   */
  private static HBaseTestingUtility utilOf(TestingHBaseCluster cluster) throws Exception {
    Field f = cluster.getClass().getDeclaredField("util");
    f.setAccessible(true);
    return (HBaseTestingUtility) f.get(cluster);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * Asks the Thrift2 server for the namespaces until it answers (at most 60 s): a listening
   * socket alone does not prove that the server reaches its cluster.
   */
  private static void waitForThrift2(String host, int port) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    String last = "";
    while (System.nanoTime() < deadline) {
      try (TSocket socket = new TSocket(new TConfiguration(), host, port, 5000)) {
        socket.open();
        THBaseService.Client client = new THBaseService.Client(new TBinaryProtocol(socket));
        if (!client.listNamespaces().isEmpty()) {
          return;
        }
        last = "no namespaces listed";
      } catch (Exception e) {
        last = e.toString();
      }
      Thread.sleep(200);
    }
    throw new IOException("Thrift2 at " + host + ":" + port + " did not answer in 60 s: " + last);
  }

  /** Asks WebHDFS for the HBase root's status until it answers 200 (at most 60 s). */
  private static void waitForWebHdfs(String base, String path, String user) throws Exception {
    URI uri =
        URI.create(
            base + path + "?op=GETFILESTATUS&user.name="
                + URLEncoder.encode(user, StandardCharsets.UTF_8));
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
