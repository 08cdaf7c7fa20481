#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/io/byte_stream.h"

namespace zarc::importer {

enum class ImapTls { kNone, kStartTls, kImplicit };

struct ImapConnectOptions {
  std::string host;
  int port = 993;
  ImapTls tls = ImapTls::kImplicit;
  // Extra PEM CA file trusted besides the system store. Certificate and host name are always
  // verified when TLS is used.
  std::string ca_file;
  // Bounds connecting and every single read or write (not a whole APPEND).
  absl::Duration timeout = absl::Seconds(60);
  // An HTTP proxy to tunnel through with CONNECT ("http://[user:password@]host:port"); "none":
  // connect directly; empty: HTTPS_PROXY (or ALL_PROXY) unless NO_PROXY exempts the host, by the
  // HTTP client's rules. Credentials in it go to the proxy only, never into errors.
  std::string proxy;
};

// The proxy `o` connects through ("" for none): o.proxy, or HTTPS_PROXY / ALL_PROXY / NO_PROXY
// by the HTTP client's rules (runtime/http/proxy_rules.h), read through `getenv`.
std::string ImapProxyFor(const ImapConnectOptions& o,
                         const std::function<const char*(const char*)>& getenv);

// A tagged completion (RFC 3501 section 7.1) with the untagged data that came before it.
struct ImapResponse {
  std::string status;  // OK, NO or BAD
  std::string code;    // response code atom without brackets, e.g. "ALREADYEXISTS"; may be empty
  std::string text;    // the human-readable rest, e.g. "Mailbox already exists"
  std::vector<std::string> untagged;  // lines after "* ", server literals inlined
};

// A minimal IMAP4rev1 client (RFC 3501) for delivering messages: greeting, CAPABILITY, STARTTLS
// (RFC 2595), LOGIN, AUTHENTICATE PLAIN (RFC 4616) and XOAUTH2, LIST, CREATE, SUBSCRIBE, SELECT,
// UID SEARCH, APPEND with a streamed synchronizing literal, LOGOUT.
//
// Errors follow the importer's retry contract: UNAVAILABLE for what may pass (connection refused or
// lost, timeouts, BYE, NO [UNAVAILABLE]/[INUSE]/[SERVERBUG] or throttling text); PERMISSION_DENIED
// for a refused login; FAILED_PRECONDITION for other NO answers (e.g. [TOOBIG], [OVERQUOTA]);
// INVALID_ARGUMENT for BAD. Messages quote the server's text, never a credential.
// After any error other than a NO/BAD tagged answer the connection is unusable. Not thread-safe.
class ImapClient {
 public:
  static absl::StatusOr<std::unique_ptr<ImapClient>> Connect(const ImapConnectOptions& options);
  ~ImapClient();
  ImapClient(const ImapClient&) = delete;
  ImapClient& operator=(const ImapClient&) = delete;

  bool HasCapability(absl::string_view capability) const;
  const std::vector<std::string>& capabilities() const { return capabilities_; }

  absl::Status Login(absl::string_view user, absl::string_view password);
  // SASL PLAIN: authzid (may be empty) \0 authcid \0 password.
  absl::Status AuthenticatePlain(absl::string_view authzid, absl::string_view user,
                                 absl::string_view password);
  // Exchange Online / Gmail XOAUTH2: "user=<user>\x01auth=Bearer <token>\x01\x01".
  absl::Status AuthenticateXOAuth2(absl::string_view user, absl::string_view token);

  // The hierarchy separator of the personal namespace (LIST "" "INBOX"); nullopt if flat.
  absl::StatusOr<std::optional<char>> HierarchySeparator();
  // OK if the mailbox was created or already existed ([ALREADYEXISTS], RFC 5530).
  absl::Status CreateIfMissing(absl::string_view mailbox);
  absl::Status Subscribe(absl::string_view mailbox);
  // SELECT; NotFound if the mailbox does not exist ([NONEXISTENT] or [TRYCREATE]).
  absl::Status Select(absl::string_view mailbox);
  // UID SEARCH HEADER Message-ID "<message_id>" in the selected mailbox.
  absl::StatusOr<std::vector<uint32_t>> SearchMessageId(absl::string_view message_id);
  // APPEND `size` bytes read from `message` as a synchronizing literal, in bounded chunks.
  // `flags` like "\\Seen"; `internal_date` is sent in UTC.
  absl::Status Append(absl::string_view mailbox, absl::string_view flags, absl::Time internal_date,
                      uint64_t size, io::ByteSource& message);
  absl::Status Logout();

  // Sends one command (without tag and CRLF) and waits for its completion. NO and BAD are
  // returned as a response, not as an error; errors are transport or protocol failures.
  absl::StatusOr<ImapResponse> Command(absl::string_view command);

 private:
  class Transport;
  struct Part {
    bool literal = false;
    std::string data;
  };
  explicit ImapClient(std::unique_ptr<Transport> transport, std::string server);
  absl::Status ReadGreeting();
  absl::Status RefreshCapabilities();
  absl::Status StartTls(const ImapConnectOptions& options);
  // Sends parts (text and synchronizing literals, waiting for "+" after each literal's header).
  absl::StatusOr<ImapResponse> CommandParts(const std::vector<Part>& parts, absl::string_view what);
  absl::StatusOr<ImapResponse> ReadUntilTagged(const std::string& tag);
  absl::StatusOr<std::string> ReadResponseLine();
  absl::Status Authenticate(absl::string_view mechanism, absl::string_view initial_response,
                            absl::string_view what);
  std::string NextTag();
  // An error Status for a NO/BAD answer to `what`.
  absl::Status Refused(const ImapResponse& r, absl::string_view what) const;

  std::unique_ptr<Transport> transport_;
  std::string server_;  // host:port, for messages
  std::vector<std::string> capabilities_;
  int next_tag_ = 1;
  bool broken_ = false;
};

// RFC 3501 quoted string ("..." with \ and " escaped); nullopt if `s` holds CR, LF, NUL or 8-bit
// characters and so must be sent as a literal.
std::optional<std::string> ImapQuote(absl::string_view s);
// RFC 3501 date-time, e.g. "05-Mar-2024 14:00:00 +0000" (with the quotes).
std::string ImapDateTime(absl::Time t);
// Splits a tagged or untagged status line's rest ("OK [CODE args] text") into its parts.
void ParseStatusText(absl::string_view rest, std::string* status, std::string* code,
                     std::string* text);
// What a refusal (NO or BAD) of `what` means: PERMISSION_DENIED for refused credentials,
// UNAVAILABLE for a wait (throttling, even answered BAD as Exchange Online does; a full mailbox;
// a server busy), INVALID_ARGUMENT for any other BAD, FAILED_PRECONDITION for any other NO.
absl::Status RefusalStatus(const ImapResponse& r, absl::string_view server, absl::string_view what);
// The separator of an untagged `LIST (...) "/" INBOX` line: nullopt for NIL, error if malformed.
absl::StatusOr<std::optional<char>> ParseListSeparator(absl::string_view untagged);
// The numbers of an untagged `SEARCH 1 2 3` line.
std::vector<uint32_t> ParseSearch(absl::string_view untagged);

}  // namespace zarc::importer
