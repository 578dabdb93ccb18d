// Ways into the state store that only its own tests and tools need.
//
// Thread-safety: free functions; see StateStore for the store itself.
#ifndef LIFEBOAT_CORE_SRC_STATE_STATE_STORE_INTERNAL_H_
#define LIFEBOAT_CORE_SRC_STATE_STATE_STORE_INTERNAL_H_

#include <lifeboat/core/state_store.h>
#include <lifeboat/status.h>

#include <filesystem>
#include <memory>

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace lifeboat::core {

struct StateStoreOpenOptions {
  // RocksDB's access to files; tests inject write failures through it. nullptr: the default
  // Env. Not owned; must outlive the store.
  rocksdb::Env* env = nullptr;
};

// StateStore::Open with options; StateStore::Open(dir) is OpenStateStore(dir, {}).
StatusOr<std::unique_ptr<StateStore>> OpenStateStore(const std::filesystem::path& dir,
                                                     const StateStoreOpenOptions& options);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_SRC_STATE_STATE_STORE_INTERNAL_H_
