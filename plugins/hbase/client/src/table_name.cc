#include "table_name.h"

namespace lifeboat::hbase {

pb::TableName ParseTableName(const std::string& table) {
  pb::TableName name;
  size_t colon = table.find(':');
  if (colon == std::string::npos) {
    name.set_namespace_("default");
    name.set_qualifier(table);
  } else {
    name.set_namespace_(table.substr(0, colon));
    name.set_qualifier(table.substr(colon + 1));
  }
  return name;
}

std::string FormatTableName(const pb::TableName& name) {
  if (name.namespace_() == "default") return name.qualifier();
  return name.namespace_() + ":" + name.qualifier();
}

}  // namespace lifeboat::hbase
