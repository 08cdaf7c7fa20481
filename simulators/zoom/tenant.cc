#include "simulators/zoom/tenant.h"

#include <algorithm>
#include <array>
#include <exception>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "simulators/zoom/file_content.h"
#include "simulators/zoom/rng.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {
namespace {

struct KindInfo {
  FileKind kind;
  absl::string_view name;  // manifest / tenant-file name
  absl::string_view file_type;
  absl::string_view extension;
  absl::string_view recording_type;
  absl::string_view content_type;
};

constexpr std::array<KindInfo, 10> kKinds = {{
    {FileKind::kVideo, "video", "MP4", "MP4", "shared_screen_with_speaker_view", "video/mp4"},
    {FileKind::kAudio, "audio", "M4A", "M4A", "audio_only", "audio/mp4"},
    {FileKind::kChat, "chat", "CHAT", "TXT", "chat_file", "text/plain; charset=utf-8"},
    {FileKind::kTranscript, "transcript", "TRANSCRIPT", "VTT", "audio_transcript",
     "text/vtt; charset=utf-8"},
    {FileKind::kCaptions, "captions", "CC", "VTT", "closed_caption", "text/vtt; charset=utf-8"},
    {FileKind::kTimeline, "timeline", "TIMELINE", "JSON", "timeline", "application/json"},
    {FileKind::kArchiveVideo, "archive_video", "MP4", "MP4", "shared_screen_with_speaker_view",
     "video/mp4"},
    {FileKind::kArchiveAudio, "archive_audio", "M4A", "M4A", "audio_only", "audio/mp4"},
    {FileKind::kArchiveChat, "archive_chat", "CHAT_MESSAGE", "JSON", "chat_message",
     "application/json"},
    {FileKind::kArchiveTranscript, "archive_transcript", "TRANSCRIPT", "VTT", "audio_transcript",
     "text/vtt; charset=utf-8"},
}};

const KindInfo& Info(FileKind kind) {
  for (const KindInfo& info : kKinds) {
    if (info.kind == kind) return info;
  }
  return kKinds[0];
}

// Display names with the ASCII spelling used for e-mail addresses.
struct Name {
  absl::string_view first, last, ascii_first, ascii_last;
};
constexpr std::array<Name, 16> kNames = {{
    {"Alice", "Martin", "alice", "martin"},
    {"José", "Núñez", "jose", "nunez"},
    {"Zoë", "O'Brien", "zoe", "obrien"},
    {"Søren", "Kierkegård", "soren", "kierkegard"},
    {"Łukasz", "Wróbel", "lukasz", "wrobel"},
    {"François", "Dubois", "francois", "dubois"},
    {"Jürgen", "Müller", "juergen", "mueller"},
    {"Anaïs", "Lefèvre", "anais", "lefevre"},
    {"Bob", "Smith", "bob", "smith"},
    {"Priya", "Raman", "priya", "raman"},
    {"美咲", "田中", "misaki", "tanaka"},
    {"Дмитрий", "Иванов", "dmitry", "ivanov"},
    {"Αλέξανδρος", "Παπαδόπουλος", "alexandros", "papadopoulos"},
    {"Chen", "Wei", "chen", "wei"},
    {"Fatima", "Al-Sayed", "fatima", "alsayed"},
    {"Grace", "Hopper", "grace", "hopper"},
}};

constexpr std::array<absl::string_view, 10> kTopics = {
    "Weekly trading desk sync", "Q3 portfolio review",   "Client onboarding: Müller GmbH",
    "Compliance training 📚",   "Risk committee",        "1:1",
    "Réunion équipe Paris",     "Product demo — FX app", "Board prep",
    "東京オフィス定例"};

constexpr std::array<absl::string_view, 14> kChatLines = {
    "Good morning everyone!",
    "Can you share the deck again?",
    "👍",
    "Agenda:\n1. Q3 numbers\n2. Hiring\n3. AOB",
    "Merci beaucoup, à demain 🙏",
    "Grüße aus München",
    "The link: https://example.com/report?id=42&x=1",
    "I'll send the minutes after the call.",
    "Sorry, my audio dropped — could you repeat the last point?",
    "Let's take that offline.",
    "数字は後で確認します",
    "Price check: EUR/USD 1.0842 ✅",
    "Line one\nline two with émoji 🎉\nline three",
    "Thanks all, great session!",
};

constexpr std::array<absl::string_view, 8> kSpeech = {
    "Let's get started with the first item on the agenda.",
    "The numbers for this quarter look better than we expected.",
    "I'd like to flag one risk before we move on.",
    "Could you walk us through the client's position?",
    "We agreed to revisit this next week.",
    "Ça marche, je m'en occupe.",
    "That's everything from my side, thank you.",
    "Any questions before we wrap up?",
};

constexpr std::array<absl::string_view, 4> kTimezones = {"America/New_York", "Europe/Berlin",
                                                         "Asia/Tokyo", "UTC"};

std::string RandomChars(Rng& rng, int length, absl::string_view alphabet) {
  std::string out;
  out.reserve(length);
  for (int i = 0; i < length; ++i) out.push_back(alphabet[rng.Uniform(alphabet.size())]);
  return out;
}

constexpr absl::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr absl::string_view kIdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

std::string FileId(Rng& rng) {
  std::string hex = RandomChars(rng, 32, "0123456789abcdef");
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

// A meeting UUID like Zoom's (base64 of 16 bytes). Some are forced to start with '/' or to
// contain "//", the cases that must be double-encoded in a path.
std::string MeetingUuid(Rng& rng, int index) {
  std::string uuid = RandomChars(rng, 22, kBase64Alphabet) + "==";
  // Keep the ordinary ones ordinary, so that tests can tell the cases apart.
  while (uuid[0] == '/') uuid[0] = 'A' + rng.Uniform(26);
  for (size_t i = 1; i < uuid.size(); ++i) {
    if (uuid[i] == '/' && uuid[i - 1] == '/') uuid[i] = 'a' + rng.Uniform(26);
  }
  if (index % 7 == 3) uuid[0] = '/';
  if (index % 11 == 5) {
    uuid[9] = '/';
    uuid[10] = '/';
  }
  return uuid;
}

FileEntry MakeFile(Rng& rng, FileKind kind, uint64_t size) {
  FileEntry file;
  file.file_id = FileId(rng);
  file.kind = kind;
  file.seed = rng.Next();
  file.size = size;
  return file;
}

// Adds the recording and archive files of `meeting`, sizing text files by rendering them.
bool EveryNth(int every, int index) { return every > 0 && index % every == every - 1; }

void AddFiles(Rng& rng, const TenantOptions& options, int index, Meeting& meeting) {
  const bool recordings_only = EveryNth(options.recordings_only_every, index);
  const bool archive_only =
      !recordings_only && options.archiving && EveryNth(options.archive_only_every, index);
  // The generator draws the recording files' ids and seeds even for an archive-only meeting, so
  // the rest of the tenant stays the same whatever these options say.
  std::vector<FileEntry> recordings;
  recordings.push_back(MakeFile(rng, FileKind::kVideo, options.video_bytes));
  recordings.push_back(MakeFile(rng, FileKind::kAudio, options.audio_bytes));
  for (FileKind kind : {FileKind::kChat, FileKind::kTranscript, FileKind::kCaptions,
                        FileKind::kTimeline}) {
    recordings.push_back(MakeFile(rng, kind, RenderText(meeting, kind).size()));
  }
  if (!archive_only) {
    for (FileEntry& f : recordings) meeting.files.push_back(std::move(f));
  }
  if (!options.archiving || recordings_only) return;
  meeting.files.push_back(MakeFile(rng, FileKind::kArchiveVideo, options.archive_media_bytes));
  meeting.files.push_back(MakeFile(rng, FileKind::kArchiveAudio, options.archive_media_bytes));
  for (FileKind kind : {FileKind::kArchiveChat, FileKind::kArchiveTranscript}) {
    meeting.files.push_back(MakeFile(rng, kind, RenderText(meeting, kind).size()));
  }
  // One individual recording for the first participant with an address.
  for (const Participant& p : meeting.participants) {
    if (p.email.empty()) continue;
    FileEntry file = MakeFile(rng, FileKind::kArchiveAudio, options.archive_media_bytes / 2 + 1);
    file.individual = true;
    file.participant_email = p.email;
    file.participant_join_time = p.join_time;
    file.participant_leave_time = p.leave_time;
    meeting.files.push_back(std::move(file));
    break;
  }
}

void FillContent(Rng& rng, Meeting& meeting) {
  // Speakers are the participants who joined (rows deduplicated by name).
  std::vector<const Participant*> people;
  for (const Participant& p : meeting.participants) {
    bool seen = false;
    for (const Participant* q : people) seen = seen || q->name == p.name;
    if (!seen) people.push_back(&p);
  }
  const absl::Duration length = meeting.duration - absl::Minutes(1);
  const int64_t length_s = std::max<int64_t>(60, absl::ToInt64Seconds(length));

  const int messages = 4 + static_cast<int>(rng.Uniform(10));
  std::vector<int64_t> offsets;
  for (int i = 0; i < messages; ++i) offsets.push_back(rng.Uniform(length_s));
  std::sort(offsets.begin(), offsets.end());
  for (int i = 0; i < messages; ++i) {
    const Participant* from = people[rng.Uniform(people.size())];
    ChatMessage m;
    m.offset = absl::Seconds(offsets[i]);
    m.sender_name = from->name;
    m.sender_email = from->email;
    m.text = std::string(kChatLines[rng.Uniform(kChatLines.size())]);
    m.msg_id = FileId(rng);
    // Every message type of the archived chat appears across a tenant.
    m.msg_type = (i == 0) ? 1 : 1 + static_cast<int>(rng.Uniform(7));
    if (m.msg_type == 2) {
      const Participant* to = people[rng.Uniform(people.size())];
      m.receiver_name = to->name;
      m.receiver_email = to->email;
    }
    if (m.msg_type == 3) m.text.clear();
    if (m.msg_type == 4) m.text = "❤️";
    if (m.msg_type == 5) m.text = "raised hand";
    if ((m.msg_type == 6 || m.msg_type == 7) && !meeting.chat.empty()) {
      const std::string& earlier = meeting.chat[rng.Uniform(meeting.chat.size())].msg_id;
      (m.msg_type == 6 ? m.original_msg_id : m.parent_msg_id) = earlier;
    } else if (m.msg_type == 6 || m.msg_type == 7) {
      m.msg_type = 1;
    }
    meeting.chat.push_back(std::move(m));
  }

  const int cues = 3 + static_cast<int>(rng.Uniform(8));
  int64_t at_ms = 1000 + rng.Uniform(4000);
  for (int i = 0; i < cues; ++i) {
    Cue cue;
    cue.start = absl::Milliseconds(at_ms);
    at_ms += 1500 + rng.Uniform(6000);
    cue.end = absl::Milliseconds(at_ms);
    at_ms += rng.Uniform(2000);
    // Every few cues nobody is identified, as in Zoom's transcripts.
    if (i % 5 != 4) cue.speaker = people[rng.Uniform(people.size())]->name;
    cue.text = std::string(kSpeech[rng.Uniform(kSpeech.size())]);
    meeting.transcript.push_back(std::move(cue));
  }
}

std::string ParticipantId(Rng& rng) { return RandomChars(rng, 8, "0123456789"); }

}  // namespace

bool HasRecordingFiles(const Meeting& meeting) {
  for (const FileEntry& f : meeting.files) {
    if (!IsArchiveKind(f.kind)) return true;
  }
  return false;
}

bool HasArchiveFiles(const Meeting& meeting) {
  for (const FileEntry& f : meeting.files) {
    if (IsArchiveKind(f.kind)) return true;
  }
  return false;
}

bool IsArchiveKind(FileKind kind) {
  return kind == FileKind::kArchiveVideo || kind == FileKind::kArchiveAudio ||
         kind == FileKind::kArchiveChat || kind == FileKind::kArchiveTranscript;
}
bool IsMediaKind(FileKind kind) {
  return kind == FileKind::kVideo || kind == FileKind::kAudio ||
         kind == FileKind::kArchiveVideo || kind == FileKind::kArchiveAudio;
}
absl::string_view FileTypeName(FileKind kind) { return Info(kind).file_type; }
absl::string_view FileExtension(FileKind kind) { return Info(kind).extension; }
absl::string_view RecordingTypeName(FileKind kind) { return Info(kind).recording_type; }
absl::string_view ContentTypeFor(FileKind kind) { return Info(kind).content_type; }
absl::string_view FileKindName(FileKind kind) { return Info(kind).name; }

absl::StatusOr<FileKind> ParseFileKindName(absl::string_view name) {
  std::string allowed;
  for (const KindInfo& info : kKinds) {
    if (info.name == name) return info.kind;
    absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", info.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown file kind \"", name, "\"; use one of: ", allowed));
}

const User* Tenant::FindUser(absl::string_view id_or_email) const {
  for (const User& user : users) {
    if (user.id == id_or_email || absl::EqualsIgnoreCase(user.email, id_or_email)) return &user;
  }
  return nullptr;
}

const Meeting* Tenant::FindMeetingByUuid(absl::string_view uuid) const {
  for (const Meeting& meeting : meetings) {
    if (meeting.uuid == uuid) return &meeting;
  }
  return nullptr;
}

const Meeting* Tenant::FindLatestMeetingById(int64_t id) const {
  const Meeting* latest = nullptr;
  for (const Meeting& meeting : meetings) {
    if (meeting.id == id && (latest == nullptr || meeting.start_time > latest->start_time)) {
      latest = &meeting;
    }
  }
  return latest;
}

std::optional<Tenant::FileRef> Tenant::FindFile(absl::string_view file_id) const {
  for (const Meeting& meeting : meetings) {
    for (const FileEntry& file : meeting.files) {
      if (file.file_id == file_id) return FileRef{&meeting, &file};
    }
  }
  return std::nullopt;
}

std::string FormatZoomTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseZoomTime(absl::string_view text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", std::string(text), absl::UTCTimeZone(), &t,
                       &error)) {
    return absl::InvalidArgumentError(absl::StrCat("time \"", text,
                                                   "\" is not in yyyy-MM-dd'T'HH:mm:ssZ form (",
                                                   error, ")"));
  }
  return t;
}

absl::StatusOr<Meeting> GenerateMeeting(const Tenant& tenant, const TenantOptions& options,
                                        int index, const MeetingOverrides& overrides) {
  if (tenant.users.empty()) {
    return absl::FailedPreconditionError("the tenant has no users to host a meeting");
  }
  // Each meeting has its own stream, so adding one never changes the others.
  Rng rng(options.seed * 0x9E3779B97F4A7C15ull + 0x1000 + static_cast<uint64_t>(index));
  Meeting meeting;
  meeting.uuid = overrides.uuid.value_or(MeetingUuid(rng, index));
  const User* host = &tenant.users[rng.Uniform(tenant.users.size())];
  if (overrides.host_id.has_value()) {
    host = tenant.FindUser(*overrides.host_id);
    if (host == nullptr) {
      return absl::NotFoundError(absl::StrCat("host \"", *overrides.host_id,
                                              "\" is not a user of the simulated account"));
    }
  }
  meeting.host_id = host->id;
  meeting.timezone = host->timezone;
  meeting.id = 80000000000 + static_cast<int64_t>(rng.Uniform(9999999999));
  meeting.type = (index % 4 == 0) ? 1 : 2;
  // Every tenth meeting is another instance of an earlier recurring meeting (same id).
  if (index % 10 == 9 && !tenant.meetings.empty()) {
    const Meeting& earlier = tenant.meetings[rng.Uniform(tenant.meetings.size())];
    meeting.id = earlier.id;
    meeting.type = 8;
  }
  meeting.topic = overrides.topic.value_or(std::string(kTopics[rng.Uniform(kTopics.size())]));
  const int64_t span_min = std::max(1, options.days) * 24 * 60 - 120;
  meeting.start_time =
      overrides.start_time.value_or(options.from + absl::Minutes(rng.Uniform(span_min)));
  meeting.duration =
      overrides.duration.value_or(absl::Minutes(15 + static_cast<int64_t>(rng.Uniform(76))));
  if (options.processing_every > 0 && index % options.processing_every == 0) {
    meeting.processing_listings = options.processing_listings;
  }

  // Participants: the host, some colleagues, sometimes externals and guests, sometimes a rejoin.
  auto add_row = [&](std::string id, std::string name, std::string email, bool internal,
                     absl::Time join, absl::Time leave) {
    meeting.participants.push_back(Participant{std::move(id), ParticipantId(rng), std::move(name),
                                               std::move(email), join, leave, internal});
  };
  const absl::Time start = meeting.start_time;
  const absl::Time end = meeting.end_time();
  add_row(host->id, absl::StrCat(host->first_name, " ", host->last_name), host->email, true,
          start, end);
  const int colleagues = std::min<int>(tenant.users.size() - 1, 1 + rng.Uniform(4));
  for (int i = 0, picked = 0; picked < colleagues && i < 4 * colleagues + 8; ++i) {
    const User& u = tenant.users[rng.Uniform(tenant.users.size())];
    bool present = false;
    for (const Participant& p : meeting.participants) present = present || p.id == u.id;
    if (present) continue;
    ++picked;
    add_row(u.id, absl::StrCat(u.first_name, " ", u.last_name), u.email, true,
            start + absl::Minutes(rng.Uniform(3)), end - absl::Minutes(rng.Uniform(3)));
  }
  if (index % 3 == 1 || rng.Uniform(4) == 0) {
    const Name& n = kNames[rng.Uniform(kNames.size())];
    // Some external users come without an address, as Zoom often reports them.
    std::string email = (index % 2 == 0)
                            ? absl::StrCat(n.ascii_first, ".", n.ascii_last, "@partner-bank.example")
                            : "";
    add_row(RandomChars(rng, 22, kIdAlphabet), absl::StrCat(n.first, " ", n.last),
            std::move(email), false, start + absl::Minutes(2), end);
  }
  if (index % 3 == 2 || rng.Uniform(5) == 0) {
    const Name& n = kNames[rng.Uniform(kNames.size())];
    add_row("", absl::StrCat(n.first, " (guest)"), "", false, start + absl::Minutes(1),
            end - absl::Minutes(5));
  }
  if (index % 4 == 3 && meeting.participants.size() > 1) {
    // A rejoin: the same person leaves early and comes back, giving a second row.
    Participant& first = meeting.participants[1];
    const absl::Time back = first.join_time + (first.leave_time - first.join_time) / 2;
    first.leave_time = back - absl::Minutes(2);
    Participant again = first;
    again.user_id = ParticipantId(rng);
    again.join_time = back;
    again.leave_time = end;
    meeting.participants.push_back(std::move(again));
  }
  FillContent(rng, meeting);
  AddFiles(rng, options, index, meeting);
  return meeting;
}

Tenant GenerateTenant(const TenantOptions& options) {
  Rng rng(options.seed);
  Tenant tenant;
  tenant.account_id = RandomChars(rng, 22, kIdAlphabet);
  tenant.archiving = options.archiving;
  tenant.account_name = "Example Corp";
  tenant.domain = options.domain;
  std::map<std::string, int> used;
  for (int i = 0; i < std::max(1, options.users); ++i) {
    const Name& n = kNames[(i + rng.Uniform(3)) % kNames.size()];
    User user;
    user.id = RandomChars(rng, 22, kIdAlphabet);
    user.first_name = std::string(n.first);
    user.last_name = std::string(n.last);
    std::string local = absl::StrCat(n.ascii_first, ".", n.ascii_last);
    const int seen = used[local]++;
    if (seen > 0) absl::StrAppend(&local, seen + 1);
    user.email = absl::StrCat(local, "@", options.domain);
    user.timezone = std::string(kTimezones[i % kTimezones.size()]);
    user.dept = (i % 2 == 0) ? "Trading" : "Compliance";
    user.type = (i == 0) ? 2 : 1 + static_cast<int>(rng.Uniform(2));
    user.created_at = options.from - absl::Hours(24 * (400 + rng.Uniform(400)));
    tenant.users.push_back(std::move(user));
  }
  for (int i = 0; i < options.meetings; ++i) {
    absl::StatusOr<Meeting> meeting = GenerateMeeting(tenant, options, i, {});
    // Cannot fail: the tenant has users and no override names a host.
    if (meeting.ok()) tenant.meetings.push_back(*std::move(meeting));
  }
  std::stable_sort(tenant.meetings.begin(), tenant.meetings.end(),
                   [](const Meeting& a, const Meeting& b) { return a.start_time < b.start_time; });
  return tenant;
}

namespace {

using json::Value;

// Small readers over the tenant file's JSON that turn a wrong type into a Status naming the field.
absl::StatusOr<std::string> GetString(const Value& object, const char* key, bool required,
                                      absl::string_view where) {
  if (!object.Has(key)) {
    if (!required) return std::string();
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": missing required field \"", key, "\""));
  }
  const Value& v = object.at(key);
  if (!v.IsString()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": field \"", key, "\" must be a string, got ", v.Serialize()));
  }
  return v.AsString();
}

absl::StatusOr<int64_t> GetInt(const Value& object, const char* key, int64_t fallback,
                               absl::string_view where) {
  if (!object.Has(key)) return fallback;
  const Value& v = object.at(key);
  if (!v.IsInteger()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": field \"", key, "\" must be an integer, got ", v.Serialize()));
  }
  return v.AsInt64();
}

absl::StatusOr<absl::Time> GetTime(const Value& object, const char* key, absl::string_view where) {
  absl::StatusOr<std::string> text = GetString(object, key, true, where);
  if (!text.ok()) return text.status();
  absl::StatusOr<absl::Time> t = ParseZoomTime(*text);
  if (!t.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": field \"", key, "\": ",
                                                   t.status().message()));
  }
  return t;
}

// The array at `key` (empty if absent); an error naming the field if it is something else.
absl::StatusOr<Value::ArrayType> GetArray(const Value& object, const char* key,
                                          absl::string_view where) {
  if (!object.Has(key)) return Value::ArrayType();
  const Value& v = object.at(key);
  if (!v.IsArray()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": field \"", key, "\" must be an array, got ", v.Serialize()));
  }
  return v.AsArray();
}

#define ZSIM_ASSIGN(lhs, expr)        \
  do {                                \
    auto zsim_v = (expr);             \
    if (!zsim_v.ok()) return zsim_v.status(); \
    lhs = *std::move(zsim_v);         \
  } while (0)

absl::StatusOr<Tenant> ParseTenantValue(const Value& root, const TenantOptions& defaults) {
  if (!root.IsObject()) return absl::InvalidArgumentError("tenant file: top level must be an object");
  Tenant tenant;
  ZSIM_ASSIGN(tenant.account_id, GetString(root, "account_id", true, "tenant"));
  ZSIM_ASSIGN(tenant.account_name, GetString(root, "account_name", false, "tenant"));
  ZSIM_ASSIGN(tenant.domain, GetString(root, "domain", true, "tenant"));
  if (!root.Has("users") || !root.at("users").IsArray()) {
    return absl::InvalidArgumentError("tenant file: \"users\" must be an array of users");
  }
  for (const Value& u : root.at("users").AsArray()) {
    User user;
    ZSIM_ASSIGN(user.id, GetString(u, "id", true, "user"));
    const std::string where = absl::StrCat("user ", user.id);
    ZSIM_ASSIGN(user.email, GetString(u, "email", true, where));
    ZSIM_ASSIGN(user.first_name, GetString(u, "first_name", false, where));
    ZSIM_ASSIGN(user.last_name, GetString(u, "last_name", false, where));
    ZSIM_ASSIGN(user.dept, GetString(u, "dept", false, where));
    std::string tz;
    ZSIM_ASSIGN(tz, GetString(u, "timezone", false, where));
    if (!tz.empty()) user.timezone = tz;
    int64_t type = 0;
    ZSIM_ASSIGN(type, GetInt(u, "type", 2, where));
    user.type = static_cast<int>(type);
    tenant.users.push_back(std::move(user));
  }
  if (tenant.users.empty()) return absl::InvalidArgumentError("tenant file: no users");
  const Value meetings = root.Has("meetings") ? root.at("meetings") : Value::Array();
  if (!meetings.IsArray()) return absl::InvalidArgumentError("tenant file: \"meetings\" must be an array");
  int index = 0;
  for (const Value& m : meetings.AsArray()) {
    Meeting meeting;
    ZSIM_ASSIGN(meeting.uuid, GetString(m, "uuid", true, "meeting"));
    const std::string where = absl::StrCat("meeting ", meeting.uuid);
    ZSIM_ASSIGN(meeting.id, GetInt(m, "id", 80000000000 + index, where));
    ZSIM_ASSIGN(meeting.host_id, GetString(m, "host_id", true, where));
    const User* host = tenant.FindUser(meeting.host_id);
    if (host == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": host_id \"", meeting.host_id,
                                                     "\" is not one of the tenant's users"));
    }
    meeting.host_id = host->id;
    meeting.timezone = host->timezone;
    ZSIM_ASSIGN(meeting.topic, GetString(m, "topic", false, where));
    int64_t type = 0, minutes = 0;
    ZSIM_ASSIGN(type, GetInt(m, "type", 2, where));
    meeting.type = static_cast<int>(type);
    ZSIM_ASSIGN(meeting.start_time, GetTime(m, "start_time", where));
    ZSIM_ASSIGN(minutes, GetInt(m, "duration", 30, where));
    meeting.duration = absl::Minutes(minutes);
    {
      Value::ArrayType participants;
      ZSIM_ASSIGN(participants, GetArray(m, "participants", where));
      for (const Value& p : participants) {
        Participant row;
        ZSIM_ASSIGN(row.id, GetString(p, "id", false, where));
        ZSIM_ASSIGN(row.user_id, GetString(p, "user_id", false, where));
        ZSIM_ASSIGN(row.name, GetString(p, "name", true, where));
        ZSIM_ASSIGN(row.email, GetString(p, "user_email", false, where));
        ZSIM_ASSIGN(row.join_time, GetTime(p, "join_time", where));
        ZSIM_ASSIGN(row.leave_time, GetTime(p, "leave_time", where));
        row.internal = p.Has("internal_user") && p.at("internal_user").IsBool() &&
                       p.at("internal_user").AsBool();
        if (row.user_id.empty()) row.user_id = absl::StrCat(16778240 + meeting.participants.size());
        meeting.participants.push_back(std::move(row));
      }
    }
    if (meeting.participants.empty()) {
      meeting.participants.push_back(Participant{host->id, "16778240",
                                                 absl::StrCat(host->first_name, " ", host->last_name),
                                                 host->email, meeting.start_time,
                                                 meeting.end_time(), true});
    }
    {
      Value::ArrayType chat;
      ZSIM_ASSIGN(chat, GetArray(m, "chat", where));
      for (const Value& c : chat) {
        ChatMessage msg;
        int64_t offset_s = 0, msg_type = 1;
        ZSIM_ASSIGN(offset_s, GetInt(c, "offset_seconds", 0, where));
        msg.offset = absl::Seconds(offset_s);
        ZSIM_ASSIGN(msg.sender_name, GetString(c, "sender", true, where));
        ZSIM_ASSIGN(msg.sender_email, GetString(c, "sender_email", false, where));
        ZSIM_ASSIGN(msg.text, GetString(c, "text", true, where));
        ZSIM_ASSIGN(msg_type, GetInt(c, "msg_type", 1, where));
        msg.msg_type = static_cast<int>(msg_type);
        std::string to;
        ZSIM_ASSIGN(to, GetString(c, "receiver", false, where));
        if (!to.empty()) msg.receiver_name = to;
        ZSIM_ASSIGN(msg.receiver_email, GetString(c, "receiver_email", false, where));
        msg.msg_id = absl::StrCat(meeting.id, "-", meeting.chat.size());
        meeting.chat.push_back(std::move(msg));
      }
    }
    {
      Value::ArrayType transcript;
      ZSIM_ASSIGN(transcript, GetArray(m, "transcript", where));
      for (const Value& c : transcript) {
        Cue cue;
        int64_t start_ms = 0, end_ms = 0;
        ZSIM_ASSIGN(start_ms, GetInt(c, "start_ms", 0, where));
        ZSIM_ASSIGN(end_ms, GetInt(c, "end_ms", start_ms + 2000, where));
        cue.start = absl::Milliseconds(start_ms);
        cue.end = absl::Milliseconds(end_ms);
        ZSIM_ASSIGN(cue.speaker, GetString(c, "speaker", false, where));
        ZSIM_ASSIGN(cue.text, GetString(c, "text", true, where));
        meeting.transcript.push_back(std::move(cue));
      }
    }
    TenantOptions sizes = defaults;
    int64_t bytes = 0;
    ZSIM_ASSIGN(bytes, GetInt(m, "video_bytes", static_cast<int64_t>(defaults.video_bytes), where));
    sizes.video_bytes = bytes;
    ZSIM_ASSIGN(bytes, GetInt(m, "audio_bytes", static_cast<int64_t>(defaults.audio_bytes), where));
    sizes.audio_bytes = bytes;
    Rng rng(defaults.seed * 0x9E3779B97F4A7C15ull + 0x2000 + static_cast<uint64_t>(index));
    AddFiles(rng, sizes, index, meeting);
    tenant.meetings.push_back(std::move(meeting));
    ++index;
  }
  std::stable_sort(tenant.meetings.begin(), tenant.meetings.end(),
                   [](const Meeting& a, const Meeting& b) { return a.start_time < b.start_time; });
  return tenant;
}

#undef ZSIM_ASSIGN

}  // namespace

absl::StatusOr<Tenant> ParseTenantJson(absl::string_view json, const TenantOptions& defaults) {
  absl::StatusOr<Value> root = json::Parse(json, "tenant file");
  if (!root.ok()) return root.status();
  return ParseTenantValue(*root, defaults);
}

}  // namespace zarc::zoom_sim
