// Small helpers shared by the engine's sources (not a public interface).
#ifndef LIFEBOAT_CORE_ENGINE_ENGINE_UTIL_H_
#define LIFEBOAT_CORE_ENGINE_ENGINE_UTIL_H_

#include <lifeboat/core/agent.h>
#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/v1/common.pb.h>
#include <lifeboat/v1/plugin.pb.h>

#include <atomic>
#include <cstdio>
#include <string>

namespace lifeboat::core {

// Store key "<a>/<b>".
inline std::string Key(const std::string& a, const std::string& b) { return a + "/" + b; }

// The meta key of a service's roles record (written by the first switch).
inline std::string RolesKey(const std::string& service) { return "roles/" + service; }

// "component:selector", for messages.
inline std::string Name(const v1::DataSetSpec& spec) {
  return spec.component() + ":" + spec.selector();
}

inline ::lifeboat::v1::DataSet ToPlugin(const v1::DataSetSpec& spec) {
  ::lifeboat::v1::DataSet ds;
  ds.set_component(spec.component());
  ds.set_selector(spec.selector());
  return ds;
}

// The policy's mode as the plugin boundary names it.
inline ::lifeboat::v1::Consistency ToPlugin(v1::ConsistencyMode mode) {
  switch (mode) {
    case v1::CRASH:
      return ::lifeboat::v1::CONSISTENCY_CRASH;
    case v1::ALIGNED:
      return ::lifeboat::v1::CONSISTENCY_ALIGNED;
    case v1::QUIESCED:
      return ::lifeboat::v1::CONSISTENCY_QUIESCED;
    default:
      return ::lifeboat::v1::CONSISTENCY_UNSPECIFIED;
  }
}

// `opts` for a call whose plugin may read from `holder` through peer_read: the route to
// `holder`'s agent by its cluster (address, certificate name, the push session when the
// holder's agent pushes; a remote agent's host follows it), and a peer_read that runs
// `holder`'s read from this process (used when the reading agent runs here: the embedded
// mode). Plugins see neither: their Peer names the holder's configuration only.
inline CallOptions RoutedTo(Agent* holder, const std::string& push_session, CallOptions opts) {
  auto [address, server_name] = holder->BulkAddress();
  opts.routes[holder->cluster()] = PeerRoute{address, server_name, push_session};
  opts.peer_read = [holder](const ::lifeboat::v1::PeerReadRequest& req, const ByteSink& sink,
                            const std::atomic<bool>* cancel) {
    CallOptions read;
    read.cancel = cancel;
    const std::string& component = req.peer().component().empty()
                                       ? req.read().snapshot().data_set().component()
                                       : req.peer().component();
    return holder->Read(component, req.read().SerializeAsString(), sink, read);
  };
  return opts;
}

// "<prefix><n, 6 digits at least>", e.g. job-000042.
inline std::string Numbered(const char* prefix, uint64_t n) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%06llu", prefix, static_cast<unsigned long long>(n));
  return buf;
}

// "info" for SEVERITY_INFO, "rpo_breach" for EVENT_RPO_BREACH: an enum's name without its
// prefix, in lower case (Event.severity and Event.kind).
inline std::string LowerSuffix(const std::string& name, const std::string& prefix) {
  std::string s = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}
inline std::string SeverityName(v1::EventSeverity s) {
  return LowerSuffix(v1::EventSeverity_Name(s), "SEVERITY_");
}
inline std::string EventKindName(v1::EventKind k) {
  return LowerSuffix(v1::EventKind_Name(k), "EVENT_");
}

// A job that may still run (or be resumed): pending, running or parked.
inline bool Unfinished(const v1::Job& job) {
  return job.state() == v1::JOB_PENDING || job.state() == v1::JOB_RUNNING ||
         job.state() == v1::JOB_PARKED;
}

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_ENGINE_ENGINE_UTIL_H_
