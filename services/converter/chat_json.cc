#include "services/converter/chat_json.h"

#include <cpprest/json.h>

#include <exception>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "services/converter/mime_header.h"

namespace zarc::converter {
namespace {

constexpr int kMaxNesting = 64;

// cpprestsdk's parser recurses once per nesting level: refuse deep input before it can exhaust
// the stack.
bool NestingWithin(absl::string_view json, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

class MessageReader {
 public:
  MessageReader(const web::json::object& object, absl::string_view file_name, size_t index,
                std::vector<std::string>* problems)
      : object_(object), file_name_(file_name), index_(index), problems_(problems) {}

  // A plain string field (ids); numbers are accepted as their decimal text.
  std::string Plain(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.cend() || it->second.is_null()) return "";
    if (it->second.is_string()) return ToValidUtf8(it->second.as_string());
    if (it->second.is_number()) return it->second.serialize();
    Problem(key, "is neither a string nor a number; ignored");
    return "";
  }

  // A base64 field, decoded; kept as sent when it is not base64.
  std::string Decoded(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.cend() || it->second.is_null()) return "";
    if (!it->second.is_string()) {
      Problem(key, "is not a string; ignored");
      return "";
    }
    return DecodeText(it->second.as_string(), key);
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
      if (it->second.is_integer()) {
        type = it->second.as_integer();
      } else if (it->second.is_string() && absl::SimpleAtoi(it->second.as_string(), &type)) {
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
    if (it == object_.cend() || it->second.is_null()) {
      Problem("e_time", "is missing; the message is shown without a time");
      return std::nullopt;
    }
    const web::json::value& v = it->second;
    double number = 0;
    if (v.is_number()) {
      number = v.as_double();
    } else if (v.is_string()) {
      const std::string& s = v.as_string();
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
    if (it == object_.cend() || it->second.is_null()) return files;
    if (!it->second.is_array()) {
      Problem("files", "is not an array; ignored");
      return files;
    }
    for (const web::json::value& file : it->second.as_array()) {
      if (file.is_string()) {
        files.push_back(DecodeText(file.as_string(), "files[]"));
      } else if (file.is_object()) {
        const web::json::object& o = file.as_object();
        std::string name;
        for (const char* key : {"file_name", "name"}) {
          auto f = o.find(key);
          if (f != o.cend() && f->second.is_string()) {
            name = DecodeText(f->second.as_string(), "files[].file_name");
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

  const web::json::object& object_;
  absl::string_view file_name_;
  size_t index_;
  std::vector<std::string>* problems_;
};

}  // namespace

absl::StatusOr<ParsedArchivedChat> ParseChatJson(absl::string_view json,
                                                 absl::string_view file_name) {
  if (!NestingWithin(json, kMaxNesting)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": JSON nested deeper than ", kMaxNesting,
                     " levels is not a Zoom archived chat file; it is attached unparsed"));
  }
  ParsedArchivedChat chat;
  try {
    std::error_code error;
    const web::json::value root =
        web::json::value::parse(std::string(json.data(), json.size()), error);
    if (error) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name, ": not valid JSON (", error.message(), "); it is attached unparsed"));
    }
    const web::json::value* messages = nullptr;
    if (root.is_array()) {
      messages = &root;
    } else if (root.is_object()) {
      const web::json::object& object = root.as_object();
      auto uuid = object.find("uuid");
      if (uuid != object.cend() && uuid->second.is_string()) {
        chat.meeting_uuid = ToValidUtf8(uuid->second.as_string());
      }
      auto it = object.find("messages");
      if (it != object.cend() && it->second.is_array()) messages = &it->second;
    }
    if (messages == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name,
          ": JSON without a \"messages\" array is not a Zoom archived chat file; it is "
          "attached unparsed"));
    }
    const web::json::array& array = messages->as_array();
    for (size_t i = 0; i < array.size(); ++i) {
      if (!array.at(i).is_object()) {
        chat.problems.push_back(
            absl::StrCat(file_name, " message ", i + 1, ": not a JSON object; skipped"));
        continue;
      }
      MessageReader reader(array.at(i).as_object(), file_name, i, &chat.problems);
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
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": unreadable JSON (", e.what(), "); it is attached unparsed"));
  }
  return chat;
}

}  // namespace zarc::converter
