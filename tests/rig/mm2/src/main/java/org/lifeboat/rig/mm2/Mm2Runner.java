package org.lifeboat.rig.mm2;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.connect.mirror.MirrorMaker;
import org.lifeboat.rig.Json;

/**
 * MirrorMaker 2 in dedicated mode ({@code connect-mirror}'s {@link MirrorMaker}, as
 * {@code connect-mirror-maker.sh} runs it) from a source cluster to a target cluster for one
 * topic, for the Kafka benchmark: it starts MirrorMaker, waits until the target topic holds as
 * many records as the source topic had when the run began, stops MirrorMaker and prints one
 * JSON line on stdout:
 *
 * <pre>
 * {"tool": "mirrormaker2", "version": "4.3.1", "topic": "t", "target_topic": "primary.t",
 *  "partitions": 3, "records": 1000000, "elapsed_ms": 41234, "first_record_ms": 9120,
 *  "copy_ms": 32114, "records_per_s": 24251.3, "complete": true}
 * </pre>
 *
 * {@code elapsed_ms} runs from the call to {@code start()} to the moment the last record is
 * seen on the target (offsets polled every 50 ms), {@code first_record_ms} until the first one
 * is, {@code copy_ms} is the difference. {@code complete} is false (exit 3) when the timeout
 * passed first. Arguments:
 *
 * <pre>
 *   --source HOST:PORT   --target HOST:PORT   --topic NAME
 *   [--policy default|identity]  default: the target topic is "primary.NAME"
 *   [--tasks N]                  tasks.max (default 1)
 *   [--timeout-s S]              default 600
 *   [--conf KEY=VALUE]...        any further MirrorMaker 2 setting, e.g. primary->secondary.producer.linger.ms=5
 * </pre>
 *
 * The clusters are named {@code primary} (source) and {@code secondary} (target); all internal
 * topics get replication factor 1 (single-node rigs). Logs (warnings) go to stderr.
 *
 * <p>Thread-safety: a command-line program; {@link #main} runs once.
 */
public final class Mm2Runner {
  private Mm2Runner() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = new LinkedHashMap<>();
    List<String> confs = new ArrayList<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (argv[i].equals("--conf")) {
        confs.add(argv[i + 1]);
      } else {
        args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
      }
    }
    if (argv.length % 2 != 0 || !args.containsKey("source") || !args.containsKey("target")
        || !args.containsKey("topic")) {
      System.err.println("usage: --source HOST:PORT --target HOST:PORT --topic NAME"
          + " [--policy default|identity] [--tasks N] [--timeout-s S] [--conf KEY=VALUE]...");
      System.exit(2);
    }
    String topic = args.get("topic");
    boolean identity = args.getOrDefault("policy", "default").equals("identity");
    String targetTopic = identity ? topic : "primary." + topic;
    long timeoutMs = Long.parseLong(args.getOrDefault("timeout-s", "600")) * 1000;

    Map<String, String> mm = new LinkedHashMap<>();
    mm.put("clusters", "primary, secondary");
    mm.put("primary.bootstrap.servers", args.get("source"));
    mm.put("secondary.bootstrap.servers", args.get("target"));
    mm.put("primary->secondary.enabled", "true");
    mm.put("primary->secondary.topics", topic);
    mm.put("secondary->primary.enabled", "false");
    mm.put("tasks.max", args.getOrDefault("tasks", "1"));
    // Single-node clusters: every topic MirrorMaker and its Connect workers create has one
    // replica.
    for (String k : List.of("replication.factor", "checkpoints.topic.replication.factor",
        "heartbeats.topic.replication.factor", "offset-syncs.topic.replication.factor",
        "offset.storage.replication.factor", "status.storage.replication.factor",
        "config.storage.replication.factor")) {
      mm.put(k, "1");
    }
    mm.put("sync.topic.acls.enabled", "false");
    // Each run is a first run: its own Connect group and internal topics on the target, so
    // that no task configuration or member of an earlier run is in the way (an earlier run's
    // stored task configs made a later run wait for minutes). One partition each: one worker.
    String run = "mm2-" + Long.toString(System.currentTimeMillis(), 36);
    mm.put("secondary.group.id", run);
    mm.put("offset.storage.topic", run + "-offsets");
    mm.put("config.storage.topic", run + "-configs");
    mm.put("status.storage.topic", run + "-status");
    mm.put("offset.storage.partitions", "1");
    mm.put("status.storage.partitions", "1");
    // Worker settings reach a dedicated-mode worker only with the target cluster's prefix (the
    // MirrorMaker object itself reads the top-level one).
    // Connect's reflective plugin scan takes ~17 s here; every plugin MirrorMaker needs has a
    // ServiceLoader manifest, as Connect's own warning says.
    mm.put("plugin.discovery", "service_load");
    mm.put("secondary.plugin.discovery", "service_load");
    mm.put("secondary.scheduled.rebalance.max.delay.ms", "0");
    mm.put("refresh.topics.interval.seconds", "5");
    if (identity) {
      mm.put("replication.policy.class",
          "org.apache.kafka.connect.mirror.IdentityReplicationPolicy");
    }
    for (String c : confs) {
      int eq = c.indexOf('=');
      if (eq <= 0) {
        System.err.println("--conf wants KEY=VALUE, got " + c);
        System.exit(2);
      }
      mm.put(c.substring(0, eq), c.substring(eq + 1));
    }

    try (Admin source = admin(args.get("source")); Admin target = admin(args.get("target"))) {
      TopicDescription desc =
          source.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
              .get(topic);
      List<TopicPartition> sourceParts = desc.partitions().stream()
          .map(p -> new TopicPartition(topic, p.partition())).collect(Collectors.toList());
      long expected = records(source, sourceParts);
      System.err.println("[mm2] " + topic + ": " + expected + " records in "
          + sourceParts.size() + " partitions; replicating to " + targetTopic);

      // A replica left by an earlier run counts from what it holds now.
      List<TopicPartition> before = partitionsIfExists(target, targetTopic);
      long already = before == null ? 0 : records(target, before);
      if (already > 0) {
        System.err.println("[mm2] " + targetTopic + " already holds " + already + " records");
      }
      long t0 = System.nanoTime();
      MirrorMaker mirror = new MirrorMaker(mm, List.of("secondary"));
      mirror.start();
      long firstMs = -1;
      long doneMs = -1;
      List<TopicPartition> targetParts = null;
      while ((System.nanoTime() - t0) / 1_000_000 < timeoutMs) {
        if (targetParts == null) {
          targetParts = partitionsIfExists(target, targetTopic);
        }
        if (targetParts != null) {
          long got = records(target, targetParts) - already;
          long now = (System.nanoTime() - t0) / 1_000_000;
          if (got > 0 && firstMs < 0) {
            firstMs = now;
          }
          if (got >= expected) {
            doneMs = now;
            break;
          }
        }
        Thread.sleep(50);
      }
      boolean complete = doneMs >= 0;
      long elapsed = complete ? doneMs : (System.nanoTime() - t0) / 1_000_000;
      mirror.stop();
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("tool", "mirrormaker2");
      out.put("version", AppInfoParser.getVersion());
      out.put("topic", topic);
      out.put("target_topic", targetTopic);
      out.put("partitions", sourceParts.size());
      out.put("records", expected);
      out.put("elapsed_ms", elapsed);
      out.put("first_record_ms", firstMs);
      out.put("copy_ms", firstMs >= 0 ? elapsed - firstMs : -1);
      out.put("records_per_s", elapsed > 0 ? Math.round(expected * 10000.0 / elapsed) / 10.0 : 0);
      out.put("complete", complete);
      // One line: the benchmark reads the last line of stdout.
      System.out.println(Json.write(out).replaceAll("\\s*\\n\\s*", " ").trim());
      System.out.flush();
      System.exit(complete ? 0 : 3);
    }
  }

  private static Admin admin(String bootstrap) {
    Properties p = new Properties();
    p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    return Admin.create(p);
  }

  /** The partitions of {@code topic}, or null while it does not exist. */
  private static List<TopicPartition> partitionsIfExists(Admin admin, String topic)
      throws Exception {
    if (!admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic)) {
      return null;
    }
    return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
        .get(topic).partitions().stream()
        .map(p -> new TopicPartition(topic, p.partition())).collect(Collectors.toList());
  }

  /** Records in {@code parts}: the sum of (end offset − earliest offset). */
  private static long records(Admin admin, List<TopicPartition> parts) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new LinkedHashMap<>();
    Map<TopicPartition, OffsetSpec> earliest = new LinkedHashMap<>();
    for (TopicPartition tp : parts) {
      latest.put(tp, OffsetSpec.latest());
      earliest.put(tp, OffsetSpec.earliest());
    }
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end =
        admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> start =
        admin.listOffsets(earliest).all().get(30, TimeUnit.SECONDS);
    long sum = 0;
    for (TopicPartition tp : parts) {
      sum += end.get(tp).offset() - start.get(tp).offset();
    }
    return sum;
  }
}
