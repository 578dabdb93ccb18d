// Roles and privileges: what sync_security reads and writes.
#include "ThriftHiveMetastore.h"
#include "ThriftHiveMetastoreObjectGrants.h"
#include "client_util.h"
#include "metastore_client.h"

namespace lifeboat::hive {
namespace {

std::string ObjectSubject(const thrift::HiveObjectRef& o) {
  return o.objectType == thrift::HiveObjectType::DATABASE ? o.dbName
                                                          : Subject(o.dbName, o.objectName);
}

std::string BagSubject(const thrift::PrivilegeBag& bag) {
  if (bag.privileges.empty()) return "";
  const thrift::HiveObjectPrivilege& p = bag.privileges.front();
  std::string s = ObjectSubject(p.hiveObject) + " " + p.principalName;
  if (bag.privileges.size() > 1) s += " and " + std::to_string(bag.privileges.size() - 1) + " more";
  return s;
}

}  // namespace

StatusOr<std::vector<std::string>> MetastoreClient::GetRoleNames() {
  std::vector<std::string> names;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_role_names", "", [&](auto& c) { c.get_role_names(names); }));
  return names;
}

Status MetastoreClient::CreateRole(const thrift::Role& role) {
  bool done = false;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("create_role", role.roleName, [&](auto& c) { done = c.create_role(role); }));
  if (!done)
    return InternalError("create_role " + role.roleName + " on " + endpoint_ + " returned false");
  return OkStatus();
}

StatusOr<std::vector<thrift::RolePrincipalGrant>> MetastoreClient::GetPrincipalsInRole(
    std::string_view role) {
  thrift::GetPrincipalsInRoleRequest req;
  req.roleName = std::string(role);
  thrift::GetPrincipalsInRoleResponse resp;
  LIFEBOAT_RETURN_IF_ERROR(Invoke("get_principals_in_role", std::string(role),
                                  [&](auto& c) { c.get_principals_in_role(resp, req); }));
  return resp.principalGrants;
}

Status MetastoreClient::GrantRevokeRole(const thrift::GrantRevokeRoleRequest& request) {
  thrift::GrantRevokeRoleResponse resp;
  const std::string subject = request.roleName + " " + request.principalName;
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke("grant_revoke_role", subject, [&](auto& c) { c.grant_revoke_role(resp, request); }));
  if (resp.__isset.success && !resp.success) {
    return InternalError("grant_revoke_role " + subject + " on " + endpoint_ + " returned false");
  }
  return OkStatus();
}

StatusOr<std::vector<thrift::HiveObjectPrivilege>> MetastoreClient::ListObjectPrivileges(
    const thrift::HiveObjectRef& object) {
  thrift::HiveObjectRef ref = object;
  if (!ref.__isset.catName) ref.__set_catName(options_.catalog);
  std::vector<thrift::HiveObjectPrivilege> out;
  // The same connection and protocol, through the service that leaves principal_name and
  // principal_type out (metastore.thrift says why).
  LIFEBOAT_RETURN_IF_ERROR(Invoke("list_privileges", ObjectSubject(ref), [&](auto& c) {
    thrift::ThriftHiveMetastoreObjectGrantsClient grants(c.getInputProtocol(),
                                                         c.getOutputProtocol());
    grants.list_privileges(out, ref);
  }));
  return out;
}

Status MetastoreClient::GrantRevokePrivileges(thrift::GrantRevokeType::type type,
                                              const thrift::PrivilegeBag& bag) {
  thrift::GrantRevokePrivilegeRequest req;
  req.requestType = type;
  req.__set_privileges(bag);
  if (type == thrift::GrantRevokeType::REVOKE) req.__set_revokeGrantOption(false);
  thrift::GrantRevokePrivilegeResponse resp;
  const char* call = "grant_revoke_privileges";
  LIFEBOAT_RETURN_IF_ERROR(
      Invoke(call, BagSubject(bag), [&](auto& c) { c.grant_revoke_privileges(resp, req); }));
  if (resp.__isset.success && !resp.success) {
    return InternalError(std::string(call) + " " + BagSubject(bag) + " on " + endpoint_ +
                         " returned false");
  }
  return OkStatus();
}

}  // namespace lifeboat::hive
