#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/testing/subprocess.h"

namespace zarc::importer::testing {

struct DovecotOptions {
  std::vector<std::pair<std::string, std::string>> users;  // mailbox address, password
  std::string master_user = "zarc-master";
  std::string master_password = "master-secret";
  // Also serve STARTTLS on the plain port and implicit TLS on tls_port(), with a self-signed
  // certificate for 127.0.0.1 made by the openssl CLI (ca_file()).
  bool tls = false;
  // Largest message APPEND accepts (imap_max_line_length does not apply to literals); 0: default.
  uint64_t max_message_bytes = 0;
  // Messages each mailbox may hold (Dovecot's count quota; beyond it APPEND answers
  // NO [OVERQUOTA]); 0: no limit.
  uint64_t max_messages = 0;
  // Also offer AUTHENTICATE XOAUTH2, checked by Dovecot's oauth2 passdb: it sends the bearer
  // token to this URL (introspection_mode = auth; the Graph simulator's /_sim/token-info) and
  // accepts it for any mailbox when the answer's `aud` is `oauth2_audience` (an app-only token,
  // as Exchange Online takes one for every mailbox the app was granted).
  std::string oauth2_token_info_url;
  std::string oauth2_audience = "https://outlook.office365.com";
};

// A real Dovecot (dovecot-imapd) from a config written into a temporary folder, run as root-safe
// as Dovecot allows: logins as dovenull, internal processes as dovecot, mail stored as
// nobody:nogroup. Passwords are {PLAIN} in a passwd-file; a master user (separator '*') reaches
// every mailbox. Listens on 127.0.0.1 on ports picked free at start (kept across Restart()).
class DovecotProcess {
 public:
  // FailedPrecondition naming the package if Dovecot is not installed.
  static absl::StatusOr<std::unique_ptr<DovecotProcess>> Start(const DovecotOptions& options);
  ~DovecotProcess();

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  const std::string& ca_file() const { return ca_file_; }
  const std::string& dir() const { return dir_->path(); }
  const DovecotOptions& options() const { return options_; }

  // Stops the server (SIGTERM, then waits for the port to close); Restart() starts it again on
  // the same ports with the same mail.
  absl::Status Stop();
  absl::Status Restart();
  bool running() const { return process_ != nullptr; }

 private:
  DovecotProcess() = default;
  absl::Status Launch();

  DovecotOptions options_;
  std::unique_ptr<zarc::testing::TempDir> dir_;
  std::unique_ptr<zarc::testing::Subprocess> process_;
  std::string config_path_;
  std::string ca_file_;
  int port_ = 0;
  int tls_port_ = 0;
};

// One message as an independent client (Python's imaplib, testing/imap_probe.py) sees it.
struct ProbedMessage {
  uint32_t uid = 0;
  std::string flags;          // e.g. "\\Seen"
  int64_t internal_date = 0;  // Unix seconds
  std::string sha256;         // of BODY[]
  uint64_t size = 0;
  std::string message_id;     // without <>
};

struct ProbeResult {
  std::vector<std::string> folders;  // every folder of the mailbox
  bool folder_exists = false;
  std::vector<ProbedMessage> messages;  // in `folder`
};

// Logs in as `mailbox*master` and lists `folder` (e.g. "INBOX/Zoom Meetings") with Python imaplib.
absl::StatusOr<ProbeResult> ProbeMailbox(const DovecotProcess& dovecot, const std::string& mailbox,
                                         const std::string& folder);

}  // namespace zarc::importer::testing
