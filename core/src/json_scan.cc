#include "json_scan.h"

#include "ferry/json.h"

namespace ferry {
namespace {

void AppendUtf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

}  // namespace

bool JsonScanner::Consume(std::string_view literal) {
  if (text_.substr(pos_, literal.size()) != literal) return false;
  pos_ += literal.size();
  return true;
}

std::optional<std::string> JsonScanner::String() {
  if (!Consume("\"")) return std::nullopt;
  std::string out;
  while (pos_ < text_.size()) {
    // Copy the run of plain bytes up to the next quote, backslash or control.
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\\' &&
           static_cast<unsigned char>(text_[pos_]) >= 0x20) {
      ++pos_;
    }
    out.append(text_.substr(start, pos_ - start));
    if (pos_ == text_.size() || static_cast<unsigned char>(text_[pos_]) < 0x20) break;
    if (text_[pos_++] == '"') {
      if (!IsValidUtf8(out)) return std::nullopt;
      return out;
    }
    if (!AppendEscape(out)) return std::nullopt;
  }
  return std::nullopt;
}

bool JsonScanner::AppendEscape(std::string& out) {
  if (pos_ == text_.size()) return false;
  const char escape = text_[pos_++];
  switch (escape) {
    case '"':
      out += '"';
      return true;
    case '\\':
      out += '\\';
      return true;
    case '/':
      out += '/';
      return true;
    case 'b':
      out += '\b';
      return true;
    case 'f':
      out += '\f';
      return true;
    case 'n':
      out += '\n';
      return true;
    case 'r':
      out += '\r';
      return true;
    case 't':
      out += '\t';
      return true;
    case 'u':
      break;
    default:
      return false;
  }
  auto code = Hex4();
  if (!code || (*code >= 0xDC00 && *code <= 0xDFFF)) return false;
  if (*code >= 0xD800 && *code <= 0xDBFF) {  // a high surrogate: its pair must follow
    if (!Consume("\\u")) return false;
    auto low = Hex4();
    if (!low || *low < 0xDC00 || *low > 0xDFFF) return false;
    code = 0x10000 + ((*code - 0xD800) << 10) + (*low - 0xDC00);
  }
  AppendUtf8(out, *code);
  return true;
}

std::optional<uint32_t> JsonScanner::Hex4() {
  if (text_.size() - pos_ < 4) return std::nullopt;
  uint32_t code = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = text_[pos_++];
    code <<= 4;
    if (c >= '0' && c <= '9') {
      code |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      code |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      code |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return code;
}

std::optional<uint64_t> JsonScanner::Unsigned() {
  const std::size_t start = pos_;
  uint64_t value = 0;
  while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
    const auto digit = static_cast<uint64_t>(text_[pos_] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;  // ParseJson would give a double
    value = value * 10 + digit;
    ++pos_;
  }
  const std::size_t digits = pos_ - start;
  // JSON has no leading zeros; a fraction or exponent makes it no integer.
  if (digits == 0 || (digits > 1 && text_[start] == '0')) return std::nullopt;
  if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> JsonScanner::Bool() {
  if (Consume("true")) return true;
  if (Consume("false")) return false;
  return std::nullopt;
}

std::optional<std::string_view> JsonScanner::Value(int max_depth) {
  const std::size_t start = pos_;
  if (!SkipValue(max_depth)) return std::nullopt;
  return text_.substr(start, pos_ - start);
}

bool JsonScanner::SkipValue(int depth_left) {
  switch (Peek()) {
    case '"':
      return SkipString();
    case '{':
      return SkipContainer('}', depth_left);
    case '[':
      return SkipContainer(']', depth_left);
    case 't':
      return Consume("true");
    case 'f':
      return Consume("false");
    case 'n':
      return Consume("null");
    default:
      return SkipNumber();
  }
}

// Members or elements up to `close`; an object's are "key":value pairs.
bool JsonScanner::SkipContainer(char close, int depth_left) {
  if (depth_left < 1) return false;
  ++pos_;
  if (Consume(std::string_view(&close, 1))) return true;
  for (;;) {
    if (close == '}' && !(SkipString() && Consume(":"))) return false;
    if (!SkipValue(depth_left - 1)) return false;
    if (Consume(std::string_view(&close, 1))) return true;
    if (!Consume(",")) return false;
  }
}

bool JsonScanner::SkipString() {
  if (!Consume("\"")) return false;
  const std::size_t start = pos_;
  while (pos_ < text_.size()) {
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c < 0x20) return false;
    if (c == '"') {
      // Escapes are ASCII, so the raw bytes are valid UTF-8 exactly when the
      // string they spell is.
      const bool valid = IsValidUtf8(text_.substr(start, pos_ - start));
      ++pos_;
      return valid;
    }
    if (c == '\\') {
      ++pos_;
      std::string unused;  // AppendEscape checks the escape; its output is not kept
      if (!AppendEscape(unused)) return false;
      continue;
    }
    ++pos_;
  }
  return false;
}

bool JsonScanner::SkipNumber() {
  (void)Consume("-");
  const std::size_t int_start = pos_;
  while (Peek() >= '0' && Peek() <= '9')
    ++pos_;
  const std::size_t int_digits = pos_ - int_start;
  if (int_digits == 0 || (int_digits > 1 && text_[int_start] == '0')) return false;
  std::size_t frac_digits = 0;
  if (Consume(".")) {
    const std::size_t frac_start = pos_;
    while (Peek() >= '0' && Peek() <= '9')
      ++pos_;
    frac_digits = pos_ - frac_start;
    if (frac_digits == 0) return false;
  }
  if (Peek() == 'e' || Peek() == 'E') return false;  // left to ParseJson
  return frac_digits == 0 ? int_digits <= 18 : int_digits + frac_digits <= 15;
}

}  // namespace ferry
