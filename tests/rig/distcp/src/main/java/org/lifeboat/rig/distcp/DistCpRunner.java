package org.lifeboat.rig.distcp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.mapreduce.Counters;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.tools.DistCp;
import org.apache.hadoop.tools.DistCpOptions;
import org.apache.hadoop.tools.OptionsParser;
import org.apache.hadoop.tools.mapred.CopyMapper;

/**
 * Runs one DistCp job with the local job runner (no YARN) and prints one JSON line on stdout:
 *
 * <pre>
 *   {"ok": true, "seconds": S, "bytes_copied": B, "files_copied": N, "files_skipped": K}
 * </pre>
 *
 * where seconds is the job's own time (options parsed to job finished: listing, diff, copy,
 * checksum comparison, attribute preservation), without the JVM's start. Usage:
 *
 * <pre>
 *   java FLAGS -jar rig-distcp.jar --work-dir DIR [--maps N] -- DISTCP-ARGS...
 * </pre>
 *
 * DISTCP-ARGS are DistCp's own ({@code -update -diff s1 s2 -pugpbrtax hdfs://a/x hdfs://b/x}).
 * {@code --maps N} asks DistCp for N maps ({@code -m N}) and runs up to N at once
 * (mapreduce.local.map.tasks.maximum) in the local job runner (see ParallelLocalProvider: Hadoop's
 * own local mode would make them one). The default file system is the local one, so the job's
 * staging area is under DIR; sources and targets are full hdfs:// URIs. Exit code 0 when the
 * job succeeded, 1 otherwise (the JSON line then has "ok": false and "error").
 */
public final class DistCpRunner {
  private DistCpRunner() {}

  public static void main(String[] argv) {
    String workDir = null;
    int maps = 4;
    List<String> distcpArgs = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      if (argv[i].equals("--")) {
        distcpArgs.addAll(Arrays.asList(argv).subList(i + 1, argv.length));
        break;
      } else if (argv[i].equals("--work-dir") && i + 1 < argv.length) {
        workDir = argv[++i];
      } else if (argv[i].equals("--maps") && i + 1 < argv.length) {
        maps = Integer.parseInt(argv[++i]);
      } else {
        fail("unknown argument '" + argv[i] + "'; usage: --work-dir DIR [--maps N] -- DISTCP-ARGS");
      }
    }
    if (workDir == null || distcpArgs.isEmpty()) {
      fail("usage: --work-dir DIR [--maps N] -- DISTCP-ARGS");
    }
    Configuration conf = new Configuration();
    // The local job runner, but with DistCp's -m maps (ParallelLocalProvider); --maps 1 is
    // what Hadoop's own local mode gives (it forces one map).
    conf.set("mapreduce.framework.name", maps > 1 ? ParallelLocalProvider.FRAMEWORK : "local");
    conf.set("fs.defaultFS", "file:///");
    conf.set("hadoop.tmp.dir", workDir + "/tmp");
    conf.set("mapreduce.jobtracker.staging.root.dir", workDir + "/staging");
    conf.setInt("mapreduce.local.map.tasks.maximum", maps);
    // The client polls the job every 5 s by default; the local runner finishes between two
    // polls, which would add seconds of waiting to every measured job.
    conf.setInt("mapreduce.client.completion.pollinterval", 50);
    conf.setInt("mapreduce.client.progressmonitor.pollinterval", 50);
    List<String> args = new ArrayList<>();
    args.add("-m");
    args.add(Integer.toString(maps));
    args.addAll(distcpArgs);
    long t0 = System.nanoTime();
    try {
      DistCpOptions options = OptionsParser.parse(args.toArray(new String[0]));
      DistCp distcp = new DistCp(conf, options);
      Job job = distcp.execute();
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (!job.isSuccessful()) {
        fail("the DistCp job failed: " + job.getStatus().getFailureInfo());
      }
      Counters c = job.getCounters();
      System.out.println(
          "{\"ok\": true, \"seconds\": " + seconds
              + ", \"bytes_copied\": " + c.findCounter(CopyMapper.Counter.BYTESCOPIED).getValue()
              + ", \"files_copied\": " + c.findCounter(CopyMapper.Counter.COPY).getValue()
              + ", \"files_skipped\": " + c.findCounter(CopyMapper.Counter.SKIP).getValue()
              + "}");
      System.exit(0);
    } catch (Exception e) {
      fail(e.toString());
    }
  }

  private static void fail(String message) {
    System.out.println(
        "{\"ok\": false, \"error\": \"" + message.replace("\\", "\\\\").replace("\"", "'")
            .replace("\n", " ") + "\"}");
    System.exit(1);
  }
}
