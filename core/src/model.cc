#include "ferry/model.h"

#include <algorithm>

namespace ferry {
namespace {

Status ValidateIdPart(std::string_view part, std::string_view what, std::size_t max_bytes) {
  if (part.empty()) return Status(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  if (part.size() > max_bytes) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(what) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (part.find('\0') != std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument, std::string(what) + " contains a NUL byte");
  }
  if (!IsValidUtf8(part)) {
    return Status(ErrorCode::kInvalidArgument, std::string(what) + " is not valid UTF-8");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateDocumentId(const DocumentId& id) {
  FERRY_RETURN_IF_ERROR(ValidateCollectionName(id.collection, "collection"));
  return ValidateIdPart(id.key, "key", kMaxKeyBytes);
}

bool NamesCollection(const std::vector<std::string>& names, std::string_view collection) {
  return std::find(names.begin(), names.end(), collection) != names.end();
}

bool CollectionScope::Admits(std::string_view collection) const {
  return (!include || NamesCollection(*include, collection)) &&
         !NamesCollection(exclude, collection);
}

Status ValidateCollectionName(std::string_view name, std::string_view what) {
  return ValidateIdPart(name, what, kMaxCollectionBytes);
}

Status ValidateCollectionScope(const CollectionScope& scope) {
  for (const std::string& name : scope.include.value_or(std::vector<std::string>{})) {
    FERRY_RETURN_IF_ERROR(ValidateCollectionName(name, "pull scope collection"));
  }
  for (const std::string& name : scope.exclude) {
    FERRY_RETURN_IF_ERROR(ValidateCollectionName(name, "upload-only collection"));
  }
  return Status::Ok();
}

std::string_view MutationOpName(MutationOp op) {
  switch (op) {
    case MutationOp::kPut:
      return "put";
    case MutationOp::kPatch:
      return "patch";
    case MutationOp::kDelete:
      return "delete";
  }
  return "unknown";
}

Result<MutationOp> ParseMutationOp(std::string_view name) {
  if (name == "put") return MutationOp::kPut;
  if (name == "patch") return MutationOp::kPatch;
  if (name == "delete") return MutationOp::kDelete;
  return Status(ErrorCode::kProtocol,
                "unknown mutation op '" + std::string(name.substr(0, 32)) + "'");
}

Status ValidateMutationValue(MutationOp op, const Json& value, std::string* serialized) {
  if (serialized != nullptr) serialized->clear();
  switch (op) {
    case MutationOp::kPut:
      if (value.is_null()) {
        return Status(ErrorCode::kInvalidArgument, "put needs a value; use delete to remove");
      }
      break;
    case MutationOp::kPatch:
      if (!value.is_object()) {
        return Status(ErrorCode::kInvalidArgument, "a patch must be a JSON object (RFC 7396)");
      }
      break;
    case MutationOp::kDelete:
      if (!value.is_null()) return Status(ErrorCode::kInvalidArgument, "delete takes no value");
      return Status::Ok();
  }
  if (JsonDepth(value) > kMaxValueDepth) {
    return Status(ErrorCode::kTooLarge,
                  "value nests deeper than " + std::to_string(kMaxValueDepth) + " levels");
  }
  std::string text = DumpJson(value);
  if (text.size() > kMaxValueBytes) {
    return Status(ErrorCode::kTooLarge,
                  "value is larger than " + std::to_string(kMaxValueBytes) + " bytes");
  }
  if (serialized != nullptr) *serialized = std::move(text);
  return Status::Ok();
}

DocumentState ApplyMutation(DocumentState current, MutationOp op, const Json& value) {
  switch (op) {
    case MutationOp::kPut:
      return {true, value};
    case MutationOp::kDelete:
      return {false, Json()};
    case MutationOp::kPatch:
      // A patch on an absent document patches an empty object, as RFC 7396
      // treats any non-object target.
      return {true,
              ApplyMergePatch(current.exists ? std::move(current.value) : Json::object(), value)};
  }
  return current;
}

}  // namespace ferry
