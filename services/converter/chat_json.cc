#include "services/converter/chat_json.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/crypto/digest.h"
#include "runtime/json/json.h"
#include "services/converter/mime_header.h"

namespace zarc::converter {
namespace {

class MessageReader {
 public:
  MessageReader(const json::Value::ObjectType& object, absl::string_view file_name, size_t index,
                std::vector<std::string>* problems)
      : object_(object), file_name_(file_name), index_(index), problems_(problems) {}

  // A plain string field (ids); numbers are accepted as their decimal text.
  std::string Plain(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.cend() || it->second.IsNull()) return "";
    if (it->second.IsString()) return ToValidUtf8(it->second.AsString());
    if (it->second.IsNumber()) return it->second.Serialize();
    Problem(key, "is neither a string nor a number; ignored");
    return "";
  }

  // A base64 field, decoded; kept as sent when it is not base64.
  std::string Decoded(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.cend() || it->second.IsNull()) return "";
    if (!it->second.IsString()) {
      Problem(key, "is not a string; ignored");
      return "";
    }
    return DecodeText(it->second.AsString(), key);
  }

  std::string DecodeText(const std::string& text, absl::string_view what) const {
    absl::StatusOr<std::string> decoded = crypto::Base64Decode(text);
    if (!decoded.ok()) {
      Problem(what, "is not base64; shown as sent");
      return ToValidUtf8(text);
    }
    std::string valid = ToValidUtf8(*decoded);
    if (valid != *decoded) Problem(what, "is not UTF-8 once decoded; bad bytes shown as U+FFFD");
    return valid;
  }

  int Type() const {
    auto it = object_.find("msg_type");
    int type = 0;
    if (it != object_.cend()) {
      if (it->second.IsInteger()) {
        type = it->second.AsInt();
      } else if (it->second.IsString() && absl::SimpleAtoi(it->second.AsString(), &type)) {
      } else {
        type = 0;
      }
    }
    if (type < 1 || type > 7) {
      Problem("msg_type", "is missing or unknown; shown as a public message");
    }
    return type;
  }

  std::optional<absl::Time> Time() const {
    auto it = object_.find("e_time");
    if (it == object_.cend() || it->second.IsNull()) {
      Problem("e_time", "is missing; the message is shown without a time");
      return std::nullopt;
    }
    const json::Value& v = it->second;
    double number = 0;
    if (v.IsNumber()) {
      number = v.AsDouble();
    } else if (v.IsString()) {
      const std::string& s = v.AsString();
      absl::Time t;
      std::string error;
      if (absl::ParseTime(absl::RFC3339_full, s, &t, &error)) return t;
      if (!absl::SimpleAtod(s, &number)) {
        Problem("e_time",
                "is neither epoch time nor RFC 3339; the message is shown without a time");
        return std::nullopt;
      }
    } else {
      Problem("e_time", "is neither epoch time nor RFC 3339; the message is shown without a time");
      return std::nullopt;
    }
    // Before 1973 in milliseconds is after 5138 in seconds: tell them apart by magnitude.
    if (!(number >= 0 && number < 1e15)) {
      Problem("e_time", "is out of range; the message is shown without a time");
      return std::nullopt;
    }
    return number > 1e11 ? absl::FromUnixMillis(static_cast<int64_t>(number))
                         : absl::FromUnixSeconds(static_cast<int64_t>(number));
  }

  std::vector<std::string> Files() const {
    std::vector<std::string> files;
    auto it = object_.find("files");
    if (it == object_.cend() || it->second.IsNull()) return files;
    if (!it->second.IsArray()) {
      Problem("files", "is not an array; ignored");
      return files;
    }
    for (const json::Value& file : it->second.AsArray()) {
      if (file.IsString()) {
        files.push_back(DecodeText(file.AsString(), "files[]"));
      } else if (file.IsObject()) {
        const json::Value::ObjectType& o = file.AsObject();
        std::string name;
        for (const char* key : {"file_name", "name"}) {
          auto f = o.find(key);
          if (f != o.cend() && f->second.IsString()) {
            name = DecodeText(f->second.AsString(), "files[].file_name");
            break;
          }
        }
        files.push_back(name.empty() ? "(unnamed file)" : name);
      }
    }
    return files;
  }

 private:
  void Problem(absl::string_view key, absl::string_view what) const {
    problems_->push_back(absl::StrCat(file_name_, " message ", index_ + 1, ": ", key, " ", what));
  }

  const json::Value::ObjectType& object_;
  absl::string_view file_name_;
  size_t index_;
  std::vector<std::string>* problems_;
};

}  // namespace

absl::StatusOr<ParsedArchivedChat> ParseChatJson(absl::string_view json,
                                                 absl::string_view file_name) {
  // The parser refuses nesting past json::kDefaultMaxDepth (64 levels): no archived chat file is
  // deeper than 3.
  absl::StatusOr<json::Value> root = json::Parse(json, file_name);
  if (!root.ok()) {
    // "c.json is not valid JSON (syntax error near byte 7 ...)" -> "c.json: not valid JSON (...)"
    const absl::string_view reason = absl::StripPrefix(
        root.status().message(), absl::StrCat(file_name, " is not valid JSON "));
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": not valid JSON ", reason, "; it is attached unparsed"));
  }
  ParsedArchivedChat chat;
  {
    const json::Value* messages = nullptr;
    if (root->IsArray()) {
      messages = &*root;
    } else if (root->IsObject()) {
      const json::Value::ObjectType& object = root->AsObject();
      auto uuid = object.find("uuid");
      if (uuid != object.cend() && uuid->second.IsString()) {
        chat.meeting_uuid = ToValidUtf8(uuid->second.AsString());
      }
      auto it = object.find("messages");
      if (it != object.cend() && it->second.IsArray()) messages = &it->second;
    }
    if (messages == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name,
          ": JSON without a \"messages\" array is not a Zoom archived chat file; it is "
          "attached unparsed"));
    }
    const json::Value::ArrayType& array = messages->AsArray();
    for (size_t i = 0; i < array.size(); ++i) {
      if (!array.at(i).IsObject()) {
        chat.problems.push_back(
            absl::StrCat(file_name, " message ", i + 1, ": not a JSON object; skipped"));
        continue;
      }
      MessageReader reader(array.at(i).AsObject(), file_name, i, &chat.problems);
      ArchivedChatMessage message;
      message.msg_type = reader.Type();
      message.id = reader.Plain("msg_id");
      message.original_id = reader.Plain("original_msg_id");
      message.parent_id = reader.Plain("parent_msg_id");
      message.time = reader.Time();
      message.sender_name = reader.Decoded("s_name");
      message.sender_email = reader.Decoded("s_email");
      message.recipient_name = reader.Decoded("r_name");
      message.recipient_email = reader.Decoded("r_email");
      message.content = reader.Decoded("msg_content");
      message.files = reader.Files();
      chat.messages.push_back(std::move(message));
    }
  }
  return chat;
}

}  // namespace zarc::converter
