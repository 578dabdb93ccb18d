#include "notification_events.h"

#include <thrift/TConfiguration.h>
#include <thrift/protocol/TJSONProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include <exception>
#include <memory>

#include "codec.h"

namespace lifeboat::hive {

namespace {

using apache::thrift::TConfiguration;
using apache::thrift::protocol::TJSONProtocol;
using apache::thrift::transport::TMemoryBuffer;

// "notification event 17 (CREATE_TABLE, gzip(json-2.0))", for messages.
std::string EventName(const thrift::NotificationEvent& e) {
  std::string out = "notification event " + std::to_string(e.eventId) + " (" + e.eventType;
  if (e.__isset.messageFormat && !e.messageFormat.empty()) out += ", " + e.messageFormat;
  return out + ")";
}

const nlohmann::json* Field(const nlohmann::json& msg, const char* key) {
  auto it = msg.find(key);
  if (it == msg.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string StringField(const nlohmann::json& msg, const char* key) {
  const nlohmann::json* v = Field(msg, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// Decodes the Thrift object in string field `key`, when present, into `*out`.
template <typename T>
Status DecodeObject(const nlohmann::json& msg, const char* key, std::optional<T>* out) {
  const nlohmann::json* v = Field(msg, key);
  if (v == nullptr) return OkStatus();
  if (!v->is_string()) return InvalidArgumentError(std::string(key) + " is not a string");
  LIFEBOAT_ASSIGN_OR_RETURN(*out, FromThriftJson<T>(v->get_ref<const std::string&>(), key));
  return OkStatus();
}

// Decodes the list of Thrift objects (a JSON array of strings) in `key`, appending to `*out`.
template <typename T>
Status DecodeList(const nlohmann::json& msg, const char* key, std::vector<T>* out) {
  const nlohmann::json* v = Field(msg, key);
  if (v == nullptr) return OkStatus();
  if (!v->is_array()) return InvalidArgumentError(std::string(key) + " is not a list");
  for (const auto& item : *v) {
    if (!item.is_string()) return InvalidArgumentError(std::string(key) + " holds a non-string");
    LIFEBOAT_ASSIGN_OR_RETURN(T obj, FromThriftJson<T>(item.get_ref<const std::string&>(), key));
    out->push_back(std::move(obj));
  }
  return OkStatus();
}

// A JSON object of strings -> a map (non-string values are written as JSON text).
std::map<std::string, std::string> StringMap(const nlohmann::json& obj) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : obj.items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

Status DecodeObjects(const nlohmann::json& m, NotificationRecord* r) {
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "dbJson", &r->database));
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "dbObjBeforeJson", &r->database_before));
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "dbObjAfterJson", &r->database));
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "tableObjJson", &r->table));
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "tableObjBeforeJson", &r->table_before));
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "tableObjAfterJson", &r->table));
  LIFEBOAT_RETURN_IF_ERROR(DecodeList(m, "partitionListJson", &r->partitions));
  std::optional<thrift::Partition> p;
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "partitionObjAfterJson", &p));
  if (p.has_value()) r->partitions.push_back(std::move(*p));
  p.reset();
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "ptnObjJson", &p));
  if (p.has_value()) r->partitions.push_back(std::move(*p));
  p.reset();
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "partitionObjBeforeJson", &p));
  if (p.has_value()) r->partitions_before.push_back(std::move(*p));
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "functionObjJson", &r->function));
  LIFEBOAT_RETURN_IF_ERROR(DecodeObject(m, "colStatsJson", &r->column_statistics));
  auto& k = r->constraints;
  LIFEBOAT_RETURN_IF_ERROR(DecodeList(m, "primaryKeyListJson", &k.primaryKeys));
  LIFEBOAT_RETURN_IF_ERROR(DecodeList(m, "foreignKeyListJson", &k.foreignKeys));
  LIFEBOAT_RETURN_IF_ERROR(DecodeList(m, "uniqueConstraintListJson", &k.uniqueConstraints));
  LIFEBOAT_RETURN_IF_ERROR(DecodeList(m, "notNullConstraintListJson", &k.notNullConstraints));
  LIFEBOAT_RETURN_IF_ERROR(DecodeList(m, "defaultConstraintListJson", &k.defaultConstraints));
  LIFEBOAT_RETURN_IF_ERROR(DecodeList(m, "checkConstraintListJson", &k.checkConstraints));
  return OkStatus();
}

void DecodeScalars(const nlohmann::json& m, NotificationRecord* r) {
  if (const auto* v = Field(m, "partitions"); v != nullptr && v->is_array()) {
    for (const auto& item : *v) {
      if (item.is_object()) r->partition_keys.push_back(StringMap(item));
    }
  }
  if (const auto* v = Field(m, "keyValues"); v != nullptr && v->is_object()) {
    r->partition_keys.push_back(StringMap(*v));
  }
  for (const char* key : {"partVals", "partValues"}) {
    if (const auto* v = Field(m, key); v != nullptr && v->is_array()) {
      for (const auto& item : *v) {
        if (item.is_string()) r->partition_values.push_back(item.get<std::string>());
      }
    }
  }
  r->function_name =
      r->function.has_value() ? r->function->functionName : StringField(m, "functionName");
  r->constraint_name = StringField(m, "constraintName");
  r->column_name = StringField(m, "colName");
  r->partition_name = StringField(m, "partName");
  // Hive writes the flag as the string "true"/"false".
  const nlohmann::json* t = Field(m, "isTruncateOp");
  r->truncate = t != nullptr && ((t->is_string() && t->get<std::string>() == "true") ||
                                 (t->is_boolean() && t->get<bool>()));
}

}  // namespace

template <typename T>
StatusOr<T> FromThriftJson(std::string_view text, std::string_view what) {
  try {
    auto config = std::make_shared<TConfiguration>(static_cast<int>(kMaxMessageBytes));
    auto buffer = std::make_shared<TMemoryBuffer>(
        reinterpret_cast<uint8_t*>(const_cast<char*>(text.data())),
        static_cast<uint32_t>(text.size()), TMemoryBuffer::OBSERVE, config);
    TJSONProtocol protocol(buffer);
    T obj;
    obj.read(&protocol);
    return obj;
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string(what) + " is not a Thrift JSON object of the " +
                                "expected type: " + e.what());
  }
}

template StatusOr<thrift::Database> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::Table> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::Partition> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::Function> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::ColumnStatistics> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::SQLPrimaryKey> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::SQLForeignKey> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::SQLUniqueConstraint> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::SQLNotNullConstraint> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::SQLDefaultConstraint> FromThriftJson(std::string_view, std::string_view);
template StatusOr<thrift::SQLCheckConstraint> FromThriftJson(std::string_view, std::string_view);

StatusOr<std::string> MessageText(const thrift::NotificationEvent& event) {
  const std::string format = event.__isset.messageFormat ? event.messageFormat : "";
  if (format.rfind("gzip", 0) == 0) {
    auto raw = Base64Decode(event.message);
    if (!raw.ok()) return raw.status().WithContext(EventName(event));
    auto text = Gunzip(*raw, kMaxMessageBytes);
    if (!text.ok()) return text.status().WithContext(EventName(event));
    return std::move(*text);
  }
  if (format.empty() || format.rfind("json", 0) == 0) return event.message;
  return UnimplementedError(EventName(event) + ": message format '" + format +
                            "' is not one this client decodes (json-*, gzip(json-*))");
}

StatusOr<NotificationRecord> DecodeEvent(const thrift::NotificationEvent& event) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string text, MessageText(event));
  NotificationRecord r;
  r.event_id = event.eventId;
  r.event_time = event.eventTime;
  r.event_type = event.eventType;
  r.catalog = event.__isset.catName ? event.catName : "";
  r.db_name = event.__isset.dbName ? event.dbName : "";
  r.table_name = event.__isset.tableName ? event.tableName : "";
  r.message_format = event.__isset.messageFormat ? event.messageFormat : "";
  r.message = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (r.message.is_discarded() || !r.message.is_object()) {
    return InvalidArgumentError(EventName(event) + ": the message is not a JSON object");
  }
  Status st = DecodeObjects(r.message, &r);
  if (!st.ok()) return st.WithContext(EventName(event));
  DecodeScalars(r.message, &r);
  return r;
}

Status CheckNoGap(int64_t last_event, const std::vector<thrift::NotificationEvent>& events) {
  int64_t expected = last_event + 1;
  for (const auto& e : events) {
    if (e.eventId != expected) {
      if (e.eventId < expected) {
        return FailedPreconditionError("notification event " + std::to_string(e.eventId) +
                                       " came after event " + std::to_string(expected - 1) +
                                       ": the metastore's event ids went backwards");
      }
      const std::string missing =
          e.eventId - 1 > expected
              ? "notification events " + std::to_string(expected) + ".." +
                    std::to_string(e.eventId - 1) + " are missing"
              : "notification event " + std::to_string(expected) + " is missing";
      return FailedPreconditionError(
          missing + " (the next one the metastore has is " + std::to_string(e.eventId) +
          "): its event cleaner removed them, so the changes made then are unknown; copy the "
          "metadata in full instead of replaying events");
    }
    expected = e.eventId + 1;
  }
  return OkStatus();
}

}  // namespace lifeboat::hive
