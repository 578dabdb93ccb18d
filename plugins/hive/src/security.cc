// sync_security of the hive plugin: the metastore's roles, role grants and object privileges
// (README.md "sync_security"). Runs on the target; reads the source metastore directly (the
// source's plugin configuration in SyncSecurityRequest.source), as the hdfs plugin reads its
// source name node.
//
// What is made equal, for the data set's objects held by both metastores (the database of a
// database data set, and its tables; the table of a table data set):
//   - the privileges on each object (list_privileges of every principal): the target's
//     privileges the source lacks are revoked, the source's the target lacks granted (a
//     changed grant option is a revoke and a grant). Privileges on partitions and columns
//     are not read.
//   - the roles those privileges name, and the roles granted to those (closed over): a role
//     the target lacks is created; the users, groups and roles granted each such role are made
//     the source's (grant_revoke_role). Roles no privilege of the data set names are left
//     alone, and no role is ever dropped (roles are metastore-wide: another data set's may
//     name them).
// User and group names go through user_map and group_map (principals, grantors, members);
// role names stay. The metastore keeps no directory of users or groups, so a name is not
// checked against one. Owners travel with the metadata itself (every commit writes them).
#include <lifeboat/sdk/plugin.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "fence.h"
#include "hive_plugin.h"

namespace lifeboat::hive {
namespace {

using PT = thrift::PrincipalType::type;

std::string TypeName(PT t) {
  switch (t) {
    case thrift::PrincipalType::USER:
      return "user";
    case thrift::PrincipalType::GROUP:
      return "group";
    case thrift::PrincipalType::ROLE:
      return "role";
  }
  return "principal";
}

struct NameMaps {
  const google::protobuf::Map<std::string, std::string>& users;
  const google::protobuf::Map<std::string, std::string>& groups;
  std::string Map(const std::string& name, PT type) const {
    if (type == thrift::PrincipalType::ROLE) return name;
    const auto& m = type == thrift::PrincipalType::GROUP ? groups : users;
    auto it = m.find(name);
    return it == m.end() ? name : it->second;
  }
};

// A privilege as compared: who, what, with or without grant option, by which authorizer.
std::string PrivilegeKey(const thrift::HiveObjectPrivilege& p) {
  return TypeName(p.principalType) + " " + p.principalName + "\n" + p.grantInfo.privilege +
         (p.grantInfo.grantOption ? "\nwith grant option" : "\n") + "\n" + p.authorizer;
}

std::string PrivilegeText(const thrift::HiveObjectPrivilege& p) {
  return p.grantInfo.privilege + (p.grantInfo.grantOption ? " (with grant option)" : "");
}

std::string MemberKey(const thrift::RolePrincipalGrant& g) {
  return TypeName(g.principalType) + " " + g.principalName;
}

// The objects of the data set on one metastore: "" for the database, else table names.
StatusOr<std::set<std::string>> ObjectsOf(MetastoreClient& c, const Selector& sel) {
  std::set<std::string> out;
  StatusOr<std::vector<std::string>> tables = c.GetAllTables(sel.db);
  if (!tables.ok()) {
    if (tables.status().code() == Code::kNotFound) return out;
    return tables.status();
  }
  // get_all_tables of a database that does not exist answers an empty list on Hive 4.
  StatusOr<thrift::Database> db = c.GetDatabase(sel.db);
  if (!db.ok()) {
    if (db.status().code() == Code::kNotFound) return out;
    return db.status();
  }
  if (sel.whole_db()) {
    out.insert("");
    out.insert(tables->begin(), tables->end());
  } else if (std::find(tables->begin(), tables->end(), sel.table) != tables->end()) {
    out.insert(sel.table);
  }
  return out;
}

thrift::HiveObjectRef RefOf(const std::string& db, const std::string& table,
                            const std::string& catalog) {
  thrift::HiveObjectRef r;
  r.objectType = table.empty() ? thrift::HiveObjectType::DATABASE : thrift::HiveObjectType::TABLE;
  r.__set_dbName(db);
  if (!table.empty()) r.__set_objectName(table);
  if (!catalog.empty()) r.__set_catName(catalog);  // else the client's own
  return r;
}

std::string ObjectText(const std::string& db, const std::string& table) {
  return table.empty() ? "database " + db : "table " + db + "." + table;
}

class SecuritySync {
 public:
  SecuritySync(sdk::Call& call, const v1::SyncSecurityRequest& req, const Selector& sel,
               MetastoreClient& src, MetastoreClient& dst, const std::string& dst_catalog)
      : call_(call),
        req_(req),
        sel_(sel),
        src_(src),
        dst_(dst),
        catalog_(dst_catalog),
        names_{req.user_map(), req.group_map()} {}

  StatusOr<v1::SyncSecurityResponse> Run() {
    LIFEBOAT_ASSIGN_OR_RETURN(std::set<std::string> on_src, ObjectsOf(src_, sel_));
    LIFEBOAT_ASSIGN_OR_RETURN(std::set<std::string> on_dst, ObjectsOf(dst_, sel_));
    // Read every privilege of both sides first: the roles they name are synced before any
    // privilege is granted to them.
    struct Pair {
      std::string table;
      std::vector<thrift::HiveObjectPrivilege> want, have;
    };
    std::vector<Pair> pairs;
    for (const std::string& t : on_src) {
      if (!on_dst.count(t)) {
        resp_.set_items_only_on_source(resp_.items_only_on_source() + 1);
        continue;
      }
      if (call_.Cancelled()) return CancelledError("sync_security of hive:" + sel_.text());
      Pair p{t, {}, {}};
      LIFEBOAT_ASSIGN_OR_RETURN(p.want, src_.ListObjectPrivileges(RefOf(sel_.db, t, "")));
      for (auto& w : p.want) Translate(w);
      LIFEBOAT_ASSIGN_OR_RETURN(p.have, dst_.ListObjectPrivileges(RefOf(sel_.db, t, catalog_)));
      for (const auto& w : p.want) {
        if (w.principalType == thrift::PrincipalType::ROLE) roles_.insert(w.principalName);
      }
      pairs.push_back(std::move(p));
    }
    resp_.set_items_compared(pairs.size());
    LIFEBOAT_RETURN_IF_ERROR(SyncRoles());
    for (Pair& p : pairs) {
      if (call_.Cancelled()) return CancelledError("sync_security of hive:" + sel_.text());
      LIFEBOAT_RETURN_IF_ERROR(SyncPrivileges(p.table, p.want, p.have));
    }
    return resp_;
  }

 private:
  void Translate(thrift::HiveObjectPrivilege& p) const {
    p.principalName = names_.Map(p.principalName, p.principalType);
    if (p.grantInfo.__isset.grantor) {
      p.grantInfo.grantor = names_.Map(p.grantInfo.grantor, p.grantInfo.grantorType);
    }
  }
  void Translate(thrift::RolePrincipalGrant& g) const {
    g.principalName = names_.Map(g.principalName, g.principalType);
    if (g.__isset.grantorName) g.grantorName = names_.Map(g.grantorName, g.grantorPrincipalType);
  }

  void Change(const std::string& line) {
    resp_.add_changes(line);
    call_.host().Info((req_.dry_run() ? "sync_security (dry run): " : "sync_security: ") + line);
  }

  // The roles in roles_ and every role granted to one of them, made to exist on the target
  // with the source's members.
  Status SyncRoles() {
    if (roles_.empty()) return OkStatus();
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> dst_roles, dst_.GetRoleNames());
    std::set<std::string> have(dst_roles.begin(), dst_roles.end());
    std::vector<std::string> todo(roles_.begin(), roles_.end());
    std::set<std::string> seen(roles_.begin(), roles_.end());
    for (size_t i = 0; i < todo.size(); ++i) {
      const std::string role = todo[i];
      StatusOr<std::vector<thrift::RolePrincipalGrant>> members = src_.GetPrincipalsInRole(role);
      if (!members.ok()) {
        return members.status().WithContext("the members of role " + role + " on the source");
      }
      for (auto& m : *members) {
        Translate(m);
        if (m.principalType == thrift::PrincipalType::ROLE && seen.insert(m.principalName).second) {
          todo.push_back(m.principalName);
        }
      }
      const bool exists = have.count(role) > 0;
      if (!exists) {
        Change("create role " + role);
        if (!req_.dry_run()) {
          thrift::Role r;
          r.__set_roleName(role);
          LIFEBOAT_RETURN_IF_ERROR(dst_.CreateRole(r));
        }
      }
      std::vector<thrift::RolePrincipalGrant> current;
      if (exists) {
        StatusOr<std::vector<thrift::RolePrincipalGrant>> got = dst_.GetPrincipalsInRole(role);
        if (!got.ok()) return got.status().WithContext("the members of role " + role + " here");
        current = std::move(*got);
      }
      LIFEBOAT_RETURN_IF_ERROR(SyncMembers(role, *members, current));
    }
    return OkStatus();
  }

  Status SyncMembers(const std::string& role, const std::vector<thrift::RolePrincipalGrant>& want,
                     const std::vector<thrift::RolePrincipalGrant>& have) {
    std::map<std::string, const thrift::RolePrincipalGrant*> w, h;
    for (const auto& g : want) w[MemberKey(g)] = &g;
    for (const auto& g : have) h[MemberKey(g)] = &g;
    for (const auto& [key, g] : h) {
      auto it = w.find(key);
      if (it != w.end() && it->second->grantOption == g->grantOption) continue;
      Change("revoke role " + role + " from " + key);
      if (!req_.dry_run())
        LIFEBOAT_RETURN_IF_ERROR(dst_.GrantRevokeRole(RoleRequest(role, *g, false)));
    }
    for (const auto& [key, g] : w) {
      auto it = h.find(key);
      if (it != h.end() && it->second->grantOption == g->grantOption) continue;
      Change("grant role " + role + " to " + key + (g->grantOption ? " with admin option" : ""));
      if (!req_.dry_run())
        LIFEBOAT_RETURN_IF_ERROR(dst_.GrantRevokeRole(RoleRequest(role, *g, true)));
    }
    return OkStatus();
  }

  static thrift::GrantRevokeRoleRequest RoleRequest(const std::string& role,
                                                    const thrift::RolePrincipalGrant& g,
                                                    bool grant) {
    thrift::GrantRevokeRoleRequest r;
    r.requestType = grant ? thrift::GrantRevokeType::GRANT : thrift::GrantRevokeType::REVOKE;
    r.__set_roleName(role);
    r.__set_principalName(g.principalName);
    r.principalType = g.principalType;
    if (grant) {
      r.__set_grantor(g.grantorName);
      r.__set_grantorType(g.grantorPrincipalType);
      r.__set_grantOption(g.grantOption);
    }
    return r;
  }

  Status SyncPrivileges(const std::string& table, std::vector<thrift::HiveObjectPrivilege>& want,
                        const std::vector<thrift::HiveObjectPrivilege>& have) {
    std::map<std::string, const thrift::HiveObjectPrivilege*> w, h;
    for (const auto& p : want) w[PrivilegeKey(p)] = &p;
    for (const auto& p : have) h[PrivilegeKey(p)] = &p;
    const std::string what = ObjectText(sel_.db, table);
    thrift::PrivilegeBag revoke, grant;
    for (const auto& [key, p] : h) {
      if (w.count(key)) continue;
      Change("revoke " + PrivilegeText(*p) + " on " + what + " from " + TypeName(p->principalType) +
             " " + p->principalName);
      revoke.privileges.push_back(*p);
    }
    for (const auto& [key, p] : w) {
      if (h.count(key)) continue;
      Change("grant " + PrivilegeText(*p) + " on " + what + " to " + TypeName(p->principalType) +
             " " + p->principalName);
      thrift::HiveObjectPrivilege g = *p;
      g.__set_hiveObject(RefOf(sel_.db, table, catalog_));
      grant.privileges.push_back(std::move(g));
    }
    if (req_.dry_run()) return OkStatus();
    // Revokes first: a grant option that changed is a revoke and a grant of one privilege.
    if (!revoke.privileges.empty()) {
      revoke.__isset.privileges = true;
      LIFEBOAT_RETURN_IF_ERROR(dst_.GrantRevokePrivileges(thrift::GrantRevokeType::REVOKE, revoke));
    }
    if (!grant.privileges.empty()) {
      grant.__isset.privileges = true;
      LIFEBOAT_RETURN_IF_ERROR(dst_.GrantRevokePrivileges(thrift::GrantRevokeType::GRANT, grant));
    }
    return OkStatus();
  }

  sdk::Call& call_;
  const v1::SyncSecurityRequest& req_;
  const Selector& sel_;
  MetastoreClient& src_;
  MetastoreClient& dst_;
  std::string catalog_;
  NameMaps names_;
  std::set<std::string> roles_;
  v1::SyncSecurityResponse resp_;
};

}  // namespace

StatusOr<v1::SyncSecurityResponse> HivePlugin::SyncSecurity(sdk::Call& call,
                                                            const v1::SyncSecurityRequest& req) {
  LIFEBOAT_ASSIGN_OR_RETURN(Selector sel, SelectorOf(req.data_set()));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, StoreFor(sel));
  return store->journal().FindOrRun<v1::SyncSecurityResponse>(
      req.op_id(), "sync_security", [&]() -> StatusOr<v1::SyncSecurityResponse> {
        std::lock_guard<std::mutex> lock(store->mutex());
        StatusOr<Config> source = ParseConfig(req.source().config());
        if (!source.ok()) {
          return InvalidArgumentError(
              "sync_security of hive:" + sel.text() +
              ": the source's configuration: " + std::string(source.status().message()));
        }
        StatusOr<std::unique_ptr<MetastoreClient>> src =
            MetastoreClient::Connect(source->metastore);
        if (!src.ok()) {
          return src.status().WithContext("sync_security of hive:" + sel.text() +
                                          " reads the source metastore of cluster " +
                                          source->cluster + " directly; this agent must reach it");
        }
        LIFEBOAT_ASSIGN_OR_RETURN(auto lease, pool_.Acquire());
        if (!req.dry_run()) {
          LIFEBOAT_ASSIGN_OR_RETURN(std::optional<FenceMark> fence, FenceOf(*lease, sel));
          if (fence) {
            return FailedPreconditionError(
                "hive:" + sel.text() + " is fenced on cluster " + config_.cluster + " (epoch " +
                std::to_string(fence->epoch) + ", " + fence->reason +
                "): sync_security would change its privileges; unfence it first, or run a dry "
                "run");
          }
        }
        SecuritySync sync(call, req, sel, **src, *lease, config_.metastore.catalog);
        return sync.Run();
      });
}

}  // namespace lifeboat::hive
