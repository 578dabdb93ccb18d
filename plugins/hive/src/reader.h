// Reading a data set's objects from a metastore, and the connections to do it with.
//
// Thread-safety: ClientPool is safe from any thread (each lease is one thread's connection).
// The Read* functions take a client of their own and share nothing.
#ifndef LIFEBOAT_PLUGINS_HIVE_SRC_READER_H_
#define LIFEBOAT_PLUGINS_HIVE_SRC_READER_H_

#include <lifeboat/status.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "metastore_client.h"
#include "objects_types.h"

namespace lifeboat::hive {

// Up to `size` connections to one metastore, opened when first needed and kept.
class ClientPool {
 public:
  ClientPool(MetastoreOptions options, int size) : options_(std::move(options)), size_(size) {}

  class Lease {
   public:
    Lease(ClientPool* pool, std::unique_ptr<MetastoreClient> client)
        : pool_(pool), client_(std::move(client)) {}
    Lease(Lease&&) = default;
    ~Lease();
    MetastoreClient& operator*() { return *client_; }
    MetastoreClient* operator->() { return client_.get(); }

   private:
    ClientPool* pool_;
    std::unique_ptr<MetastoreClient> client_;
  };

  // A connection for this thread until the lease ends; UNAVAILABLE when none can be opened.
  StatusOr<Lease> Acquire();
  int size() const { return size_; }
  const MetastoreOptions& options() const { return options_; }

 private:
  friend class Lease;
  void Return(std::unique_ptr<MetastoreClient> client);

  MetastoreOptions options_;
  int size_;
  std::mutex mu_;
  std::vector<std::unique_ptr<MetastoreClient>> idle_;
};

// One table as read: the table object and its partitions (sorted by name).
struct TableState {
  store::TableObject header;
  std::vector<store::PartitionEntry> partitions;
};

// The database object (database and functions); nullopt when it does not exist.
StatusOr<std::optional<store::DatabaseObject>> ReadDatabase(MetastoreClient& c,
                                                            const std::string& db);

// The table with its constraints, statistics and (when `with_partitions`) every partition;
// nullopt when it does not exist.
StatusOr<std::optional<TableState>> ReadTable(MetastoreClient& c, const std::string& db,
                                              const std::string& table, bool with_partitions);

// The named partitions of `table` that exist (with their statistics), sorted by name.
StatusOr<std::vector<store::PartitionEntry>> ReadPartitions(MetastoreClient& c,
                                                            const thrift::Table& table,
                                                            const std::vector<std::string>& names);

// The table-level statistics of `table` (sorted by column); none when it has none.
StatusOr<std::vector<thrift::ColumnStatisticsObj>> ReadTableStatistics(MetastoreClient& c,
                                                                       const thrift::Table& table);

}  // namespace lifeboat::hive

#endif  // LIFEBOAT_PLUGINS_HIVE_SRC_READER_H_
