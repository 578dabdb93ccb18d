#include "hbase_plugin.h"

#include <lifeboat/sdk/config.h>

#include <algorithm>
#include <regex>

namespace lifeboat::hbase {

namespace {

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgumentError(std::string(kConfigType) + ": '" + field + "' " + what, field);
}

// "host:port" with a numeric port.
bool IsHostPort(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  if (s.find('/') != std::string::npos) return false;
  return std::all_of(s.begin() + static_cast<long>(colon) + 1, s.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// A shell-style pattern ('*', '?') as a regular expression.
std::regex GlobRegex(const std::string& glob) {
  std::string re;
  for (char c : glob) {
    if (c == '*') {
      re += ".*";
    } else if (c == '?') {
      re += '.';
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      re += c;
    } else {
      re += '\\';
      re += c;
    }
  }
  return std::regex(re);
}

}  // namespace

StatusOr<Config> ParseConfig(const std::string& json) {
  LIFEBOAT_ASSIGN_OR_RETURN(sdk::ConfigReader reader, sdk::ConfigReader::Parse(json, kConfigType));
  Config c;
  LIFEBOAT_ASSIGN_OR_RETURN(c.master, reader.String("master", ""));
  LIFEBOAT_ASSIGN_OR_RETURN(c.thrift2, reader.String("thrift2", ""));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> namenodes, reader.StringList("namenodes"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.root, reader.String("root", ""));
  LIFEBOAT_ASSIGN_OR_RETURN(c.user, reader.String("user", "hbase"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.state_dir, reader.String("state_dir", ""));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t parallel, reader.Int("parallel", 4, 1, 64));
  c.parallel = static_cast<int>(parallel);
  LIFEBOAT_RETURN_IF_ERROR(reader.Finish());

  if (!IsHostPort(c.master)) {
    return Bad("master",
               "must be the active HBase master's RPC address, host:port (e.g. "
               "hmaster1.example.com:16000); got '" +
                   c.master + "'");
  }
  if (!IsHostPort(c.thrift2)) {
    return Bad("thrift2",
               "must be a Thrift2 server's address, host:port (e.g. "
               "thrift.example.com:9090); got '" +
                   c.thrift2 + "'");
  }
  if (namenodes.empty()) {
    return Bad("namenodes",
               "is required: the HTTP address (host:port) of each NameNode of the "
               "HDFS that holds hbase.rootdir");
  }
  for (std::string nn : namenodes) {
    if (nn.rfind("http://", 0) == 0) nn = nn.substr(7);
    while (!nn.empty() && nn.back() == '/') nn.pop_back();
    if (!IsHostPort(nn)) {
      return Bad("namenodes", "has '" + nn +
                                  "', which is not a NameNode HTTP address host:port "
                                  "(dfs.namenode.http-address, e.g. nn1.example.com:9870)");
    }
    c.namenodes.push_back("http://" + nn);
  }
  auto bad_path = [](const std::string& p) {
    return p.empty() || p.front() != '/' || p.find("/../") != std::string::npos ||
           (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0) ||
           p.find("//") != std::string::npos;
  };
  if (bad_path(c.root)) {
    return Bad("root",
               "must be hbase.rootdir's absolute path on its HDFS (e.g. /hbase), "
               "without '..' or '//'; got '" +
                   c.root + "'");
  }
  while (c.root.size() > 1 && c.root.back() == '/') c.root.pop_back();
  if (c.root == "/") return Bad("root", "must not be '/': give hbase.rootdir's own directory");
  if (c.state_dir.empty()) c.state_dir = c.root + "/.lifeboat";
  if (bad_path(c.state_dir)) {
    return Bad("state_dir",
               "must be an absolute path without '..' or '//'; got '" + c.state_dir + "'");
  }
  if (c.user.empty()) return Bad("user", "must not be empty");
  return c;
}

v1::PluginDescriptor HBasePlugin::Describe() {
  v1::PluginDescriptor d;
  d.set_name(kPluginName);
  d.set_version("0.1.0");
  d.set_component("hbase");
  d.set_config_type(kConfigType);
  d.set_description(
      "HBase namespaces and tables: FLUSH snapshots per table, HFiles copied between clusters "
      "over WebHDFS in ExportSnapshot's layout (no MapReduce), incremental by store file");
  for (auto c : {v1::CAP_INCREMENTAL, v1::CAP_RESUMABLE_TRANSFER, v1::CAP_DIGEST_VERIFY,
                 v1::CAP_RESTORE, v1::CAP_FENCING}) {
    d.add_capabilities(c);
  }
  return d;
}

Status HBasePlugin::Validate(const v1::PluginConfig& config) {
  return ParseConfig(config.config_json()).status();
}

StatusOr<std::unique_ptr<HBasePlugin>> HBasePlugin::Create(sdk::Host host,
                                                           const v1::PluginConfig& config) {
  LIFEBOAT_ASSIGN_OR_RETURN(Config c, ParseConfig(config.config_json()));
  return std::make_unique<HBasePlugin>(host, config, std::move(c));
}

namespace {
hdfs::WebHdfsClient::Options FsOptions(const Config& c) {
  hdfs::WebHdfsClient::Options o;
  o.namenodes = c.namenodes;
  o.user = c.user;
  return o;
}
}  // namespace

HBasePlugin::HBasePlugin(sdk::Host host, v1::PluginConfig plugin_config, Config config)
    : host_(host),
      plugin_config_(std::move(plugin_config)),
      config_(std::move(config)),
      layout_{config_.root, config_.state_dir},
      fs_(FsOptions(config_)),
      journal_(std::make_unique<HdfsJournalStore>(&fs_, layout_.Journal())) {}

std::unique_ptr<MasterClient> HBasePlugin::Master() const {
  MasterClient::Options o;
  o.rpc.user = config_.user;
  return std::make_unique<MasterClient>(config_.master, o);
}

std::unique_ptr<Thrift2Client> HBasePlugin::Thrift() const {
  return std::make_unique<Thrift2Client>(config_.thrift2, Thrift2Client::Options());
}

StatusOr<std::vector<std::string>> HBasePlugin::TablesOf(const DataSetName& ds) {
  auto master = Master();
  if (!ds.is_namespace()) {
    const std::string table = ds.ns == "default" ? ds.table : ds.selector();
    LIFEBOAT_RETURN_IF_ERROR(master->GetTableState(table).status());
    return std::vector<std::string>{table};
  }
  auto thrift = Thrift();
  StatusOr<t2::TNamespaceDescriptor> ns = thrift->GetNamespace(ds.ns);
  if (!ns.ok()) {
    if (ns.status().code() == Code::kNotFound || ns.status().code() == Code::kUnknown) {
      return NotFoundError("namespace '" + ds.ns + "' does not exist on HBase " + config_.master,
                           ds.ns);
    }
    return ns.status();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> tables,
                            master->ListTableNames(ds.ns, "", /*include_system_tables=*/false));
  std::sort(tables.begin(), tables.end());
  return tables;
}

StatusOr<std::string> HBasePlugin::HeldPath(const std::string& ns, const std::string& item,
                                            uint64_t size) {
  for (const std::string& place : {config_.root + "/" + ArchivePathOfItem(ns, item),
                                   config_.root + "/data/" + ns + "/" + item}) {
    StatusOr<hdfs::FileStatus> st = fs_.GetFileStatus(place);
    if (st.ok() && !st->is_dir && st->length == size) return place;
    if (!st.ok() && st.status().code() != Code::kNotFound) return st.status();
  }
  return std::string();
}

StatusOr<PointFiles> HBasePlugin::LoadPoint(hdfs::WebHdfsClient& fs, const Layout& layout,
                                            const std::string& dir) {
  StatusOr<std::string> point_json = ReadSmallFile(fs, dir + "/" + kPointFile);
  if (!point_json.ok()) return point_json.status();
  PointFiles files;
  LIFEBOAT_ASSIGN_OR_RETURN(files.point, PointFromJson(*point_json));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string manifest, ReadSmallFile(fs, dir + "/" + kManifestFile));
  if (!files.manifest.ParseFromString(manifest)) {
    return DataLossError("the manifest of " + dir + " on " + layout.root + " does not parse", dir);
  }
  return files;
}

StatusOr<v1::ProbeResponse> HBasePlugin::Probe(sdk::Call& call, const v1::ProbeRequest&) {
  v1::ProbeResponse r;
  auto master = Master();
  Status ping = master->Ping();
  if (!ping.ok()) {
    r.set_health(v1::UNREACHABLE);
    r.set_detail(ping.ToString());
    return r;
  }
  StatusOr<hdfs::FileStatus> root = fs_.GetFileStatus(config_.root);
  if (!root.ok()) {
    r.set_health(v1::DEGRADED);
    r.set_detail("the master answers, but hbase.rootdir " + config_.root +
                 " over WebHDFS: " + root.status().ToString());
    return r;
  }
  auto thrift = Thrift();
  StatusOr<std::vector<t2::TTableDescriptor>> tables =
      thrift->TableDescriptorsMatching(".*", false);
  if (!tables.ok()) {
    r.set_health(v1::DEGRADED);
    r.set_detail("the master answers, but Thrift2 " + config_.thrift2 + ": " +
                 tables.status().ToString());
    return r;
  }
  r.set_health(v1::HEALTHY);
  r.set_component_version("HBase (master " + config_.master + ")");
  r.set_detail("master " + config_.master + ", Thrift2 " + config_.thrift2 + ", root " +
               config_.root);
  // Fenced data sets: the markers in the tables' descriptors, the highest epoch per data set.
  std::map<std::string, v1::FencedDataSet> fenced;
  for (const auto& t : *tables) {
    auto it = t.attributes.find(kFenceAttribute);
    if (it == t.attributes.end()) continue;
    std::optional<FenceMarker> m = FenceFromJson(it->second);
    if (!m) continue;
    v1::FencedDataSet& f = fenced[m->selector];
    if (m->epoch >= f.epoch()) {
      f.mutable_data_set()->set_component("hbase");
      f.mutable_data_set()->set_selector(m->selector);
      f.set_epoch(m->epoch);
      f.set_reason(m->reason);
      f.set_fenced_unix_nanos(m->fenced_unix_nanos);
      f.set_mechanism("readonly_table");
    }
  }
  for (auto& [selector, f] : fenced) *r.add_fenced() = f;
  (void)call;
  return r;
}

StatusOr<v1::ResolveResponse> HBasePlugin::Resolve(sdk::Call&, const v1::ResolveRequest& req) {
  v1::ResolveResponse r;
  const std::string& sel = req.selector();
  const bool pattern = sel.find_first_of("*?") != std::string::npos;
  if (!pattern) {
    LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(sel));
    LIFEBOAT_RETURN_IF_ERROR(TablesOf(ds).status());
    v1::DataSet* out = r.add_data_sets();
    out->set_component("hbase");
    out->set_selector(ds.selector());
    return r;
  }
  // "ns:ord*" (tables of one namespace) or "*" / "sal*" (namespaces).
  const size_t colon = sel.find(':');
  auto thrift = Thrift();
  if (colon == std::string::npos) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> namespaces, thrift->ListNamespaces());
    std::sort(namespaces.begin(), namespaces.end());
    const std::regex re = GlobRegex(sel);
    for (const auto& ns : namespaces) {
      if (ns == "hbase" || !std::regex_match(ns, re)) continue;
      v1::DataSet* out = r.add_data_sets();
      out->set_component("hbase");
      out->set_selector(ns);
    }
  } else {
    const std::string ns = sel.substr(0, colon);
    if (!IsNamespaceName(ns) || ns == "hbase") {
      return InvalidArgumentError("hbase selector '" + sel +
                                      "': the namespace part must be a "
                                      "namespace name (patterns only in the table part)",
                                  sel);
    }
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> tables, TablesOf(DataSetName{ns, ""}));
    const std::regex re = GlobRegex(sel.substr(colon + 1));
    for (const auto& t : tables) {
      const std::string q = QualifierOf(t);
      if (!std::regex_match(q, re)) continue;
      v1::DataSet* out = r.add_data_sets();
      out->set_component("hbase");
      out->set_selector(ns + ":" + q);
    }
  }
  if (r.data_sets_size() == 0) {
    return NotFoundError("hbase selector '" + sel + "' matches nothing on " + config_.master, sel);
  }
  return r;
}

StatusOr<v1::PrepareResponse> HBasePlugin::Prepare(sdk::Call&, const v1::PrepareRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(DataSetName ds, ParseDataSet(req.data_set().selector()));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> tables, TablesOf(ds));
  LIFEBOAT_RETURN_IF_ERROR(fs_.GetFileStatus(config_.root + "/.hbase-snapshot").status().code() ==
                                   Code::kUnavailable
                               ? UnavailableError("WebHDFS does not answer for " + config_.root)
                               : OkStatus());
  v1::PrepareResponse r;
  r.set_detail(std::to_string(tables.size()) + " table(s) to snapshot");
  return r;
}

}  // namespace lifeboat::hbase
