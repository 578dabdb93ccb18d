// The conformance rig of the sqlite example: two temporary directories stand for the primary
// and the secondary cluster. Items are database files; what must survive a round trip is each
// database's rows (a digest of every table, in rowid order).
#include <lifeboat/sdk/digest.h>
#include <lifeboat/testing/conformance.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace v1 = lifeboat::v1;
using lifeboat::testing::BadConfig;
using lifeboat::testing::ChangeSet;
using lifeboat::testing::ContentMap;

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(sql + ": " + m);
  }
}

sqlite3* Open(const fs::path& p) {
  sqlite3* db = nullptr;
  if (sqlite3_open(p.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + p.string());
  return db;
}

// Every table's rows, in order, as one digest: equal for equal content, whatever the pages.
std::string Rows(const fs::path& p) {
  sqlite3* db = Open(p);
  lifeboat::sdk::Sha256 sha;
  sqlite3_stmt* tables = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name", -1,
                     &tables, nullptr);
  while (sqlite3_step(tables) == SQLITE_ROW) {
    std::string t = reinterpret_cast<const char*>(sqlite3_column_text(tables, 0));
    sha.Update("table " + t + "\n");
    sqlite3_stmt* rows = nullptr;
    sqlite3_prepare_v2(db, ("SELECT * FROM \"" + t + "\" ORDER BY rowid").c_str(), -1, &rows,
                       nullptr);
    while (sqlite3_step(rows) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(rows); ++c) {
        const void* blob = sqlite3_column_blob(rows, c);
        sha.Update(blob, static_cast<size_t>(sqlite3_column_bytes(rows, c)));
        sha.Update("|");
      }
    }
    sqlite3_finalize(rows);
  }
  sqlite3_finalize(tables);
  sqlite3_close(db);
  return lifeboat::sdk::Hex(sha.Finish());
}

class SqliteRig : public lifeboat::testing::ConformanceRig {
 public:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("sqlite-conformance-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(primary() / "app");
    fs::create_directories(secondary());
  }
  void TearDown() override { fs::remove_all(base_); }

  std::string PluginName() const override { return "sqlite"; }
  v1::PluginConfig SourceConfig() const override { return Config("primary", primary()); }
  v1::PluginConfig TargetConfig() const override { return Config("secondary", secondary()); }
  std::vector<BadConfig> BadConfigs() const override {
    return {{"relative root", R"({"root": "relative/dir"})", "absolute"},
            {"no root", R"({})", "root"}};
  }
  v1::DataSet DataSet() const override {
    v1::DataSet ds;
    ds.set_component("sqlite");
    ds.set_selector("app");
    return ds;
  }

  void Populate(uint64_t large_bytes) override {
    sqlite3* users = Open(primary() / "app" / "users.db");
    Exec(users, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)");
    for (int i = 0; i < 20; ++i) {
      Exec(users, "INSERT INTO users(name) VALUES('user" + std::to_string(i) + "')");
    }
    sqlite3_close(users);
    sqlite3* orders = Open(primary() / "app" / "orders.db");
    Exec(orders, "CREATE TABLE orders(id INTEGER PRIMARY KEY, amount INTEGER)");
    Exec(orders, "INSERT INTO orders(amount) VALUES(42)");
    sqlite3_close(orders);
    sqlite3* empty = Open(primary() / "app" / "empty.db");
    Exec(empty, "CREATE TABLE empty_table(x)");
    sqlite3_close(empty);
    // The large item: random bytes, so that no page repeats.
    sqlite3* big = Open(primary() / "app" / "big.db");
    Exec(big, "CREATE TABLE blobs(b BLOB)");
    std::mt19937_64 rng(7);
    std::string blob(large_bytes, '\0');
    for (char& c : blob) c = static_cast<char>(rng());
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(big, "INSERT INTO blobs VALUES(?)", -1, &st, nullptr);
    sqlite3_bind_blob(st, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_finalize(st);
    sqlite3_close(big);
  }

  // Creates a database, appends to one, deletes one and renames one (the last two only
  // while there is one to delete or rename: the suite may call this several times).
  ChangeSet ApplyChanges() override {
    const fs::path fresh_path = primary() / "app" / ("fresh" + std::to_string(++changes_) + ".db");
    sqlite3* fresh = Open(fresh_path);
    Exec(fresh, "CREATE TABLE t(x); INSERT INTO t VALUES('new')");
    sqlite3_close(fresh);
    sqlite3* orders = Open(primary() / "app" / "orders.db");
    Exec(orders, "INSERT INTO orders(amount) VALUES(7)");
    sqlite3_close(orders);
    std::error_code ec;
    fs::remove(primary() / "app" / "users.db", ec);
    if (fs::exists(primary() / "app" / "empty.db")) {
      fs::rename(primary() / "app" / "empty.db", primary() / "app" / "renamed.db");
    }
    // A cut copies whole database files: what moves is the new and the changed file.
    ChangeSet c;
    c.changed_items = 2;
    c.changed_bytes = fs::file_size(fresh_path) + fs::file_size(primary() / "app" / "orders.db");
    return c;
  }

  ContentMap CaptureSource() const override { return Capture(primary() / "app"); }
  std::string RestoreDestination(int n) const override { return "restored-" + std::to_string(n); }
  ContentMap CaptureRestored(const std::string& destination) const override {
    return Capture(secondary() / destination);
  }
  // A database the point does not hold, put where a restore will go: it must be refused
  // without overwrite.
  std::string PlantForeignItem(const std::string& destination) override {
    fs::create_directories(secondary() / destination);
    std::ofstream(secondary() / destination / "notes.db") << "someone else's";
    return "notes.db";
  }
  bool ForeignItemIntact(const std::string& destination) const override {
    std::ifstream in(secondary() / destination / "notes.db");
    std::string text;
    std::getline(in, text);
    return text == "someone else's";
  }
  std::string BadRestoreDestination() const override { return "../outside"; }
  std::string CorruptTarget(const std::string& rp, bool staged) override {
    const fs::path f =
        secondary() / ".lifeboat-sqlite" / (staged ? "staging" : "points") / rp / "app" / "big.db";
    std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(fs::file_size(f) / 2));
    char c = 0;
    io.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    io.seekp(static_cast<std::streamoff>(fs::file_size(f) / 2));
    io.write(&c, 1);
    return "big.db";
  }

 private:
  fs::path primary() const { return base_ / "primary"; }
  fs::path secondary() const { return base_ / "secondary"; }

  static v1::PluginConfig Config(const std::string& cluster, const fs::path& root) {
    v1::PluginConfig c;
    c.set_plugin("sqlite");
    c.set_cluster(cluster);
    c.set_config_json(R"({"root": ")" + root.string() + R"("})");
    return c;
  }

  static ContentMap Capture(const fs::path& dir) {
    ContentMap m;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".db") m[it->path().filename().string()] = Rows(it->path());
    }
    return m;
  }

  fs::path base_;
  int changes_ = 0;
};

LIFEBOAT_CONFORMANCE_RIG("sqlite", SqliteRig);

}  // namespace
