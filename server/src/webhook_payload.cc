#include "webhook_payload.h"

#include "ferry/json.h"

namespace ferry::server {
namespace {

// User names come from the tokens file, which nothing checks for UTF-8:
// DumpJson replaces what is not, where AppendJsonString requires it.
void AppendText(std::string& body, std::string_view text) {
  if (IsValidUtf8(text)) {
    AppendJsonString(body, text);
  } else {
    body += DumpJson(Json(std::string(text)));
  }
}

}  // namespace

std::string WebhookIdempotencyKey(std::string_view epoch, std::string_view user, Version version) {
  std::string key(epoch);
  key += ':';
  key += user;
  key += ':';
  key += std::to_string(version);
  return key;
}

std::string WebhookBody(std::string_view epoch, std::string_view user,
                        const std::vector<PendingChange>& changes) {
  std::string body = "{\"user\":";
  AppendText(body, user);
  body += ",\"epoch\":";
  AppendText(body, epoch);
  body += ",\"changes\":[";
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const PendingChange& change = changes[i];
    const StoredDocument& document = change.document;
    if (i > 0) body += ',';
    body += "{\"collection\":";
    AppendText(body, change.id.collection);
    body += ",\"key\":";
    AppendText(body, change.id.key);
    body += ",\"version\":" + std::to_string(document.version);
    body += document.exists ? ",\"deleted\":false,\"value\":" : ",\"deleted\":true";
    if (document.exists) body += document.value_json;  // stored compact and valid
    body += ",\"hlc\":";
    AppendText(body, document.hlc);
    // The writer lets a backend skip the echo of its own admin writes.
    body += ",\"clientId\":";
    AppendText(body, document.writer);
    body += ",\"idempotencyKey\":";
    AppendText(body, WebhookIdempotencyKey(epoch, user, document.version));
    body += '}';
  }
  body += "]}";
  return body;
}

}  // namespace ferry::server
