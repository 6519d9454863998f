// Index declarations and their entries (query_index.h).
#include "ferry/query_index.h"

#include <algorithm>
#include <set>
#include <utility>

#include "index_key.h"

namespace ferry {
namespace {

constexpr std::string_view kIndexPrefix = "x/";
constexpr std::string_view kDeclarationsKey = "m/indexes";
// Stored with the declarations: a store whose entries were encoded another
// way rebuilds every index.
constexpr int kEncodingVersion = 1;

Status Invalid(const std::string& what) {
  return Status(ErrorCode::kInvalidArgument, "indexes: " + what);
}

std::string EntryPrefix(std::string_view collection, std::string_view name) {
  std::string prefix(kIndexPrefix);
  prefix += collection;
  prefix += '\0';
  prefix += name;
  prefix += '\0';
  return prefix;
}

std::string EntryKey(const IndexDeclaration& index, std::string_view key, const Json& document) {
  std::string entry = EntryPrefix(index.collection, index.name);
  for (const JsonPath& path : index.paths)
    index_key::AppendValue(entry, QueryLookup(document, path));
  entry += key;  // keys hold no NUL (ValidateDocumentId) and end the entry
  return entry;
}

std::string DefaultName(const std::vector<JsonPath>& paths) {
  std::string name;
  for (const JsonPath& path : paths) {
    if (!name.empty()) name += ',';
    for (std::size_t i = 0; i < path.size(); ++i)
      name += (i > 0 ? "." : "") + path[i];
  }
  return name;
}

Result<IndexDeclaration> DeclarationFromJson(const Json& json) {
  if (!json.is_object()) return Invalid("each declaration must be an object");
  IndexDeclaration index;
  for (auto member = json.begin(); member != json.end(); ++member) {
    if (member.key() == "collection" && member->is_string()) {
      index.collection = member->get<std::string>();
    } else if (member.key() == "name" && member->is_string()) {
      index.name = member->get<std::string>();
    } else if (member.key() == "paths" && member->is_array()) {
      for (const Json& path : *member) {
        FERRY_ASSIGN_OR_RETURN(JsonPath parsed, QueryPathFromJson(path, "an index path"));
        index.paths.push_back(std::move(parsed));
      }
    } else {
      return Invalid("\"" + member.key() + "\" is not a declaration member of that type " +
                     "(collection: a string, paths: an array of paths, name: a string)");
    }
  }
  return index;
}

Json DeclarationsRecord(const std::vector<IndexDeclaration>& declarations) {
  Json indexes = Json::array();
  for (const IndexDeclaration& index : declarations)
    indexes.push_back({{"c", index.collection}, {"n", index.name}, {"p", index.paths}});
  return {{"v", kEncodingVersion}, {"i", std::move(indexes)}};
}

}  // namespace

Status ValidateIndexes(std::vector<IndexDeclaration>& declarations) {
  std::set<std::pair<std::string, std::string>> names;
  for (IndexDeclaration& index : declarations) {
    FERRY_RETURN_IF_ERROR(ValidateCollectionName(index.collection, "an index's collection"));
    if (index.paths.empty()) return Invalid("the index on " + index.collection + " has no paths");
    for (const JsonPath& path : index.paths) {
      if (path.empty() || std::any_of(path.begin(), path.end(), [](auto& n) { return n.empty(); }))
        return Invalid("an index path has an empty member name");
    }
    if (index.name.empty()) index.name = DefaultName(index.paths);
    if (index.name.find('\0') != std::string::npos) return Invalid("an index name holds NUL");
    if (!names.emplace(index.collection, index.name).second)
      return Invalid("two indexes on " + index.collection + " are named " + index.name);
  }
  return Status::Ok();
}

Result<std::vector<IndexDeclaration>> IndexesFromJson(const Json& json) {
  if (!json.is_array()) return Invalid("must be an array of declarations");
  std::vector<IndexDeclaration> declarations;
  for (const Json& item : json) {
    FERRY_ASSIGN_OR_RETURN(IndexDeclaration index, DeclarationFromJson(item));
    declarations.push_back(std::move(index));
  }
  FERRY_RETURN_IF_ERROR(ValidateIndexes(declarations));
  return declarations;
}

Result<std::vector<IndexDeclaration>> IndexesFromText(std::string_view text) {
  auto json = ParseJson(text);
  if (!json.ok()) return Invalid("not JSON: " + json.status().message());
  return IndexesFromJson(*json);
}

QueryIndexes::QueryIndexes(std::vector<IndexDeclaration> declarations)
    : declarations_(std::move(declarations)) {
  for (const IndexDeclaration& index : declarations_)
    by_collection_[index.collection].push_back(&index);
}

void QueryIndexes::StageChange(Transaction& txn, const DocumentId& id, const Json* before,
                               const Json* after) const {
  const auto found = by_collection_.find(id.collection);
  if (found == by_collection_.end()) return;
  for (const IndexDeclaration* index : found->second) {
    std::string old_entry = before ? EntryKey(*index, id.key, *before) : std::string();
    std::string new_entry = after ? EntryKey(*index, id.key, *after) : std::string();
    if (old_entry == new_entry) continue;
    if (!old_entry.empty()) txn.Delete(old_entry);
    if (!new_entry.empty()) txn.Put(new_entry, id.key);
  }
}

Result<QueryIndexes::Adoption> QueryIndexes::Compare(Store& store) const {
  Adoption adoption;
  adoption.record = DumpJson(DeclarationsRecord(declarations_));
  FERRY_ASSIGN_OR_RETURN(auto stored, store.Get(kDeclarationsKey));
  if (stored == adoption.record) {
    adoption.record.clear();  // nothing to change
    return adoption;
  }
  // A record that does not decode (or from another encoding) holds nothing
  // this one can keep: every entry under x/ goes and every index is built.
  Json held = Json::array();
  if (stored) {
    auto parsed = ParseJson(*stored);
    if (parsed.ok() && parsed->is_object() && parsed->value("v", 0) == kEncodingVersion &&
        parsed->contains("i") && (*parsed)["i"].is_array()) {
      held = std::move((*parsed)["i"]);
    } else {
      adoption.drop.emplace_back(kIndexPrefix);
    }
  }
  for (const IndexDeclaration& index : declarations_) {
    const Json wanted = DeclarationsRecord({index})["i"][0];
    if (std::find(held.begin(), held.end(), wanted) == held.end()) adoption.build.push_back(&index);
  }
  for (const Json& was : held) {
    const bool kept = std::any_of(declarations_.begin(), declarations_.end(), [&](auto& index) {
      return was == DeclarationsRecord({index})["i"][0];
    });
    if (!kept && was.is_object() && was.value("c", Json()).is_string() &&
        was.value("n", Json()).is_string()) {
      adoption.drop.push_back(
          EntryPrefix(was["c"].get<std::string>(), was["n"].get<std::string>()));
    }
  }
  return adoption;
}

Status QueryIndexes::StageDrop(Store& store, Transaction& txn, const Adoption& adoption) const {
  for (const std::string& prefix : adoption.drop) {
    std::vector<std::string> entries;
    FERRY_RETURN_IF_ERROR(store.ScanPrefix(prefix, [&](std::string_view key, std::string_view) {
      entries.emplace_back(key);
      return true;
    }));
    for (const std::string& entry : entries)
      txn.Delete(entry);
  }
  return Status::Ok();
}

void QueryIndexes::StageBuild(Transaction& txn, const IndexDeclaration& index, std::string_view key,
                              const Json& document) const {
  txn.Put(EntryKey(index, key, document), key);
}

void QueryIndexes::StageRecord(Transaction& txn, const Adoption& adoption) const {
  txn.Put(kDeclarationsKey, adoption.record);
}

}  // namespace ferry
