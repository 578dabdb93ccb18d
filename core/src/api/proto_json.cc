// ProtoToJson: the one JSON shape of a record, for the API and the CLI's -o json.
//
// Protobuf's JSON printer writes 64-bit integers as strings ("bytes_done": "1048576", as
// proto3's JSON mapping allows for readers that keep numbers in doubles) and leaves out
// fields at their default value, so one object would have several shapes and scripts would
// do arithmetic on strings. Here every field is present and every integer is a number.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <lifeboat/core/api/api.h>

#include <charconv>

namespace lifeboat::core::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using json = nlohmann::json;

void NumbersIn(json& object, const Descriptor* type);

// A string of digits -> the number it stands for; anything else stays as it is.
template <typename Int>
void ToNumber(json& value) {
  if (!value.is_string()) return;
  const std::string& text = value.get_ref<const std::string&>();
  Int n{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && end == text.data() + text.size()) value = n;
}

void NumberValue(json& value, const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
      ToNumber<int64_t>(value);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      ToNumber<uint64_t>(value);
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      // Well-known types (Timestamp, Duration, ...) have JSON forms of their own.
      if (field->message_type()->file()->package() != "google.protobuf") {
        NumbersIn(value, field->message_type());
      }
      break;
    default:
      break;
  }
}

void NumbersIn(json& object, const Descriptor* type) {
  if (!object.is_object()) return;
  for (auto& [key, value] : object.items()) {
    const FieldDescriptor* field = type->FindFieldByName(key);
    if (field == nullptr) continue;
    if (field->is_map()) {
      const FieldDescriptor* mapped = field->message_type()->map_value();
      for (auto& [k, v] : value.items()) NumberValue(v, mapped);
    } else if (field->is_repeated()) {
      for (auto& item : value) NumberValue(item, field);
    } else {
      NumberValue(value, field);
    }
  }
}

}  // namespace

nlohmann::json ProtoToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  if (!google::protobuf::util::MessageToJsonString(message, &out, opts).ok()) {
    return json::object();
  }
  json parsed = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return json::object();
  NumbersIn(parsed, message.GetDescriptor());
  return parsed;
}

}  // namespace lifeboat::core::api
