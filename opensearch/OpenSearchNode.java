// One OpenSearch node in this JVM, with the two modules the search tool needs
// on the class path (no distribution to unpack). Run by opensearch/node:
//   java -cp 'lib/*' OpenSearchNode.java HOME HTTP_PORT TRANSPORT_PORT NAME [SEED_PORTS] [MASTERS]
// Without SEED_PORTS the node is a single-node cluster; with them (comma-separated
// transport ports on 127.0.0.1) it joins the cluster whose first masters are MASTERS.
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.transport.Netty4Plugin;

public class OpenSearchNode {
    static class ModuleNode extends Node {
        ModuleNode(Settings settings) {
            super(InternalSettingsPreparer.prepareEnvironment(settings, java.util.Map.of(), null, () -> settings.get("node.name")),
                  List.of(Netty4Plugin.class, CommonAnalysisPlugin.class), true);
        }
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]);
        Settings.Builder settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "search-test")
            .put("node.name", args[3])
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("cluster.routing.allocation.disk.threshold_enabled", false);
        if (args.length > 4) {
            List<String> seeds = Arrays.stream(args[4].split(",")).map(p -> "127.0.0.1:" + p).toList();
            settings.putList("discovery.seed_hosts", seeds);
            settings.putList("cluster.initial_cluster_manager_nodes", Arrays.asList(args[5].split(",")));
        } else {
            settings.put("discovery.type", "single-node");
        }
        Node node = new ModuleNode(settings.build());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try { node.close(); } catch (Exception e) { }
            stopped.countDown();
        }));
        node.start();
        System.out.println("started");
        System.out.flush();
        stopped.await();
    }
}
