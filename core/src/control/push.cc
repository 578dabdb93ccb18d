#include "push.h"

#include <lifeboat/agent/v1/agent.pb.h>
#include <lifeboat/core/control/agent_service.h>
#include <lifeboat/core/control/remote_agent.h>
#include <lifeboat/core/net/client.h>
#include <spdlog/spdlog.h>

namespace lifeboat::core::control {
namespace {

namespace pbc = ::lifeboat::agent::v1;
using SteadyClock = std::chrono::steady_clock;

// Unconsumed chunks a read holds before PushChunk waits: with 1 MiB chunks, a few MiB per read.
constexpr size_t kMaxQueuedChunks = 4;

}  // namespace

// ---- the reading agent's side -------------------------------------------------------------

struct PushHub::Pending {
  uint64_t id = 0;
  std::string session;
  std::string component;
  std::string request;
  bool taken = false;
  bool done = false;
  bool reader_gone = false;
  Status result;
  std::deque<std::string> chunks;
  SteadyClock::time_point last_heard;
  std::condition_variable cv;  // chunks, done, taken, room
};

PushHub::~PushHub() { Shutdown(); }

void PushHub::Shutdown() {
  std::lock_guard lock(mu_);
  shutdown_ = true;
  for (auto& [id, p] : pending_) p->cv.notify_all();
  queued_.notify_all();
}

Status PushHub::Read(const std::string& session, const std::string& source,
                     const std::string& component, const std::string& request, const ByteSink& sink,
                     const std::atomic<bool>* cancel) {
  auto p = std::make_shared<Pending>();
  p->session = session;
  p->component = component;
  p->request = request;
  std::unique_lock lock(mu_);
  if (shutdown_) return UnavailableError("this agent is stopping");
  p->id = ++next_id_;
  p->last_heard = SteadyClock::now();
  pending_[p->id] = p;
  queues_[session].push_back(p->id);
  queued_.notify_all();
  const auto queued_at = SteadyClock::now();
  auto finish = [&](Status s) {
    p->reader_gone = true;
    p->cv.notify_all();
    pending_.erase(p->id);
    auto q = queues_.find(session);
    if (q != queues_.end()) {
      std::erase(q->second, p->id);
      if (q->second.empty()) queues_.erase(q);
    }
    return s;
  };
  while (true) {
    if (!p->chunks.empty()) {
      std::string chunk = std::move(p->chunks.front());
      p->chunks.pop_front();
      p->cv.notify_all();  // room for the next PushChunk
      lock.unlock();
      Status s = sink(chunk);
      lock.lock();
      if (!s.ok()) return finish(s);
      continue;
    }
    if (p->done) return finish(p->result);
    if (shutdown_) return finish(UnavailableError("this agent is stopping"));
    if (cancel != nullptr && cancel->load()) {
      return finish(CancelledError("peer read from " + source + " cancelled"));
    }
    const auto now = SteadyClock::now();
    // A read may wait its turn while the session's threads serve others; only a session
    // that shows no life at all (no fetch, no chunk) for `take` fails it.
    auto seen = seen_.find(session);
    const auto alive = seen == seen_.end() ? queued_at : std::max(queued_at, seen->second);
    if (!p->taken && now - alive > t_.take) {
      return finish(UnavailableError(
          "push mode: the agent of " + source + " fetched no read of session " + session +
          " within " + std::to_string(t_.take.count() / 1000) +
          " s; it must reach this agent (and be allowed by its --allow-client) — see its log"));
    }
    if (p->taken && now - p->last_heard > t_.silence) {
      return finish(UnavailableError("push mode: the agent of " + source + " sent nothing for " +
                                     std::to_string(t_.silence.count() / 1000) +
                                     " s in the middle of a read; it may have stopped"));
    }
    // Cancellation is a flag, not a notification: look again every 20 ms.
    p->cv.wait_for(lock, std::chrono::milliseconds(20));
  }
}

std::optional<PushHub::Taken> PushHub::Next(const std::string& session) {
  std::unique_lock lock(mu_);
  const auto now = SteadyClock::now();
  if (seen_.size() > 1024) {
    std::erase_if(seen_, [&](const auto& e) { return now - e.second > std::chrono::hours(1); });
  }
  seen_[session] = now;
  const auto until = SteadyClock::now() + t_.poll;
  while (!shutdown_) {
    auto q = queues_.find(session);
    if (q != queues_.end() && !q->second.empty()) {
      const uint64_t id = q->second.front();
      q->second.pop_front();
      if (q->second.empty()) queues_.erase(q);
      auto it = pending_.find(id);
      if (it == pending_.end()) continue;
      Pending& p = *it->second;
      p.taken = true;
      p.last_heard = SteadyClock::now();
      p.cv.notify_all();
      return Taken{id, p.component, p.request};
    }
    if (queued_.wait_until(lock, until) == std::cv_status::timeout) break;
  }
  return std::nullopt;
}

Status PushHub::Chunk(uint64_t id, std::string data) {
  std::unique_lock lock(mu_);
  while (true) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return NotFoundError("no read " + std::to_string(id) + " waits here");
    std::shared_ptr<Pending> p = it->second;
    if (p->reader_gone || shutdown_) return CancelledError("the reader is gone");
    p->last_heard = SteadyClock::now();
    seen_[p->session] = p->last_heard;
    if (p->chunks.size() < kMaxQueuedChunks) {
      p->chunks.push_back(std::move(data));
      p->cv.notify_all();
      return OkStatus();
    }
    p->cv.wait_for(lock, std::chrono::milliseconds(100));
  }
}

Status PushHub::Done(uint64_t id, Status result) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return NotFoundError("no read " + std::to_string(id) + " waits here");
  it->second->done = true;
  it->second->result = std::move(result);
  it->second->cv.notify_all();
  return OkStatus();
}

// ---- the source agent's side --------------------------------------------------------------

struct Pusher::Session {
  std::string name;
  std::string target_cluster;
  std::string where;  // "cluster b (10.0.0.2:7443)"
  std::unique_ptr<net::Client> client;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<int64_t> last_work_ns{0};
  std::vector<std::thread> threads;
};

Pusher::Pusher(Agent& local, PusherOptions options) : local_(local), options_(std::move(options)) {}

Pusher::~Pusher() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, s] : sessions_) names.push_back(name);
  }
  for (const auto& n : names) Stop(n);
}

Status Pusher::Start(const std::string& session, const std::string& target_cluster,
                     const std::string& address, const std::string& server_name) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it != sessions_.end() && !it->second->stop.load()) return OkStatus();
  if (it != sessions_.end()) {
    // Ended by itself (idle); its threads are done or about to be.
    for (auto& t : it->second->threads) t.join();
    sessions_.erase(it);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto hp, SplitHostPort(address));
  net::ClientOptions co;
  co.host = hp.first;
  co.port = hp.second;
  co.tls = options_.tls;
  if (co.tls.enabled && co.tls.expected_server_name.empty()) {
    co.tls.expected_server_name = server_name.empty() ? hp.first : server_name;
  }
  co.max_frame_bytes = kAgentMaxFrameBytes;
  co.node_name = options_.node_name;
  co.connect_timeout = options_.connect_timeout;
  co.reconnect_backoff_max = std::chrono::milliseconds(2000);
  auto s = std::make_unique<Session>();
  s->name = session;
  s->target_cluster = target_cluster;
  s->where = "cluster " + target_cluster + " (" + address + ")";
  s->client = std::make_unique<net::Client>(std::move(co));
  s->last_work_ns = SteadyClock::now().time_since_epoch().count();
  Session* raw = s.get();
  for (int i = 0; i < std::max(1, options_.threads_per_session); ++i) {
    s->threads.emplace_back([this, raw] { Run(*raw); });
  }
  spdlog::info("push session {}: serving the reads of {} over a connection this agent opens",
               session, raw->where);
  sessions_.emplace(session, std::move(s));
  return OkStatus();
}

Pusher::Served Pusher::Stop(const std::string& session) {
  std::unique_ptr<Session> s;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return {};
    s = std::move(it->second);
    sessions_.erase(it);
  }
  s->stop = true;
  for (auto& t : s->threads) t.join();
  spdlog::info("push session {} to {} stopped: {} reads, {} bytes", session, s->where,
               s->reads.load(), s->bytes.load());
  return {s->reads.load(), s->bytes.load()};
}

void Pusher::Run(Session& s) {
  bool warned = false;
  while (!s.stop.load()) {
    const int64_t idle_ns = SteadyClock::now().time_since_epoch().count() - s.last_work_ns.load();
    if (idle_ns > std::chrono::nanoseconds(options_.idle_limit).count()) {
      spdlog::warn("push session {} to {}: idle for {} s, ending it", s.name, s.where,
                   options_.idle_limit.count() / 1000);
      s.stop = true;
      break;
    }
    pbc::PushNextRequest next;
    next.set_cluster(s.target_cluster);
    next.set_session(s.name);
    next.set_source_cluster(options_.cluster);
    net::CallOptions co;
    co.deadline = std::chrono::seconds(20);
    co.cancel = &s.stop;
    co.wait_for_ready = true;
    auto answer = s.client->Call(kAgentPushNextMethod, next.SerializeAsString(), co);
    if (!answer.ok()) {
      if (s.stop.load()) break;
      if (!warned) {
        spdlog::warn("push session {}: cannot fetch reads from {}: {}", s.name, s.where,
                     answer.status().ToString());
        warned = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    warned = false;
    pbc::PushNextResponse taken;
    if (!taken.ParseFromString(*answer) || taken.idle()) continue;
    s.last_work_ns = SteadyClock::now().time_since_epoch().count();
    CallOptions opts;
    opts.cancel = &s.stop;
    net::CallOptions chunk_co;
    chunk_co.deadline = std::chrono::seconds(120);
    chunk_co.cancel = &s.stop;
    uint64_t sent = 0;
    Status result = local_.Read(
        taken.component(), taken.request(),
        [&](std::string_view data) -> Status {
          pbc::PushChunkRequest chunk;
          chunk.set_cluster(s.target_cluster);
          chunk.set_read_id(taken.read_id());
          chunk.set_data(std::string(data));
          auto r = s.client->Call(kAgentPushChunkMethod, chunk.SerializeAsString(), chunk_co);
          if (!r.ok()) return r.status();
          sent += data.size();
          return OkStatus();
        },
        opts);
    s.reads++;
    s.bytes += sent;
    s.last_work_ns = SteadyClock::now().time_since_epoch().count();
    pbc::PushDoneRequest done;
    done.set_cluster(s.target_cluster);
    done.set_read_id(taken.read_id());
    done.set_code(static_cast<int32_t>(result.code()));
    done.set_message(result.message());
    done.set_subject(result.subject());
    net::CallOptions done_co;
    done_co.deadline = std::chrono::seconds(20);
    (void)s.client->Call(kAgentPushDoneMethod, done.SerializeAsString(), done_co);
  }
}

}  // namespace lifeboat::core::control
