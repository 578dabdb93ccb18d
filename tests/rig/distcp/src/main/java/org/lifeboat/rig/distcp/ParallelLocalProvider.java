package org.lifeboat.rig.distcp;

import java.io.IOException;
import java.net.InetSocketAddress;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.mapred.LocalJobRunner;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.protocol.ClientProtocol;
import org.apache.hadoop.mapreduce.protocol.ClientProtocolProvider;

/**
 * The local job runner with the job's own number of maps. Hadoop's LocalClientProtocolProvider
 * sets mapreduce.job.maps to 1 whenever it creates a LocalJobRunner, so DistCp's {@code -m N}
 * becomes one split and one map: a single copying thread. Selected by
 * mapreduce.framework.name = {@value #FRAMEWORK} (registered in META-INF/services); the
 * LocalJobRunner then runs up to mapreduce.local.map.tasks.maximum maps at once.
 */
public final class ParallelLocalProvider extends ClientProtocolProvider {
  public static final String FRAMEWORK = "lifeboat-local";

  @Override
  public ClientProtocol create(Configuration conf) throws IOException {
    if (!FRAMEWORK.equals(conf.get(MRConfig.FRAMEWORK_NAME))) {
      return null;
    }
    return new LocalJobRunner(conf);
  }

  @Override
  public ClientProtocol create(InetSocketAddress addr, Configuration conf) {
    return null; // the local runner has no address
  }

  @Override
  public void close(ClientProtocol clientProtocol) {}
}
