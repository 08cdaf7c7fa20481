#include "services/importer/testing/dovecot_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/json/json.h"

namespace zarc::importer::testing {
namespace {

constexpr char kDovecot[] = "/usr/sbin/dovecot";

absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot bind a free port on 127.0.0.1");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

absl::Status WaitForPort(int port, bool open, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (Accepts(port) != open) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("port ", port, open ? " did not open" : " did not close",
                                                      " within ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(20));  // polling a socket: there is nothing to wait on
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

absl::Status RunTool(std::vector<std::string> argv) {
  absl::StatusOr<std::unique_ptr<zarc::testing::Subprocess>> p =
      zarc::testing::Subprocess::Start({.argv = argv, .merge_stderr = true});
  if (!p.ok()) return p.status();
  std::string out = (*p)->ReadRemaining(absl::Seconds(60));
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(60));
  if (!code.ok()) return code.status();
  if (*code != 0) return absl::InternalError(absl::StrCat(argv[0], " failed (", *code, "): ", out));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DovecotProcess>> DovecotProcess::Start(const DovecotOptions& options) {
  if (access(kDovecot, X_OK) != 0) {
    return absl::FailedPreconditionError(
        "Dovecot is not installed (/usr/sbin/dovecot): install the Debian package dovecot-imapd "
        "(scripts/install-deps.sh)");
  }
  std::unique_ptr<DovecotProcess> d(new DovecotProcess());
  d->options_ = options;
  d->dir_ = std::make_unique<zarc::testing::TempDir>();
  const std::string dir = d->dir_->path();
  // Dovecot's unprivileged processes (dovenull, dovecot, nobody) must traverse the folder.
  chmod(dir.c_str(), 0755);
  std::filesystem::create_directories(dir + "/mail");
  passwd* nobody = getpwnam("nobody");
  if (nobody == nullptr) return absl::FailedPreconditionError("no user nobody on this machine");
  if (chown((dir + "/mail").c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
    return absl::InternalError("cannot chown the mail folder to nobody (tests run as root)");
  }
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  d->port_ = *port;
  if (options.tls) {
    absl::StatusOr<int> tls_port = FreePort();
    if (!tls_port.ok()) return tls_port.status();
    d->tls_port_ = *tls_port;
    d->ca_file_ = dir + "/cert.pem";
    if (absl::Status s = RunTool({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                  "-keyout", dir + "/key.pem", "-out", d->ca_file_, "-days", "2",
                                  "-subj", "/CN=127.0.0.1", "-addext",
                                  "subjectAltName=IP:127.0.0.1"});
        !s.ok()) {
      return s;
    }
  }
  std::string users;
  for (const auto& [name, password] : options.users) {
    absl::StrAppend(&users, name, ":{PLAIN}", password, "::::::\n");
  }
  if (absl::Status s = WriteFile(dir + "/passwd", users); !s.ok()) return s;
  if (absl::Status s = WriteFile(dir + "/master-users", absl::StrCat(options.master_user, ":{PLAIN}",
                                                                    options.master_password, "::::::\n"));
      !s.ok()) {
    return s;
  }
  std::string conf = absl::StrCat(R"(protocols = imap
listen = 127.0.0.1
base_dir = )", dir, R"(/run
state_dir = )", dir, R"(/state
log_path = )", dir, R"(/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
disable_plaintext_auth = no
auth_mechanisms = plain login)", options.oauth2_token_info_url.empty() ? "" : " xoauth2", R"(
auth_master_user_separator = *
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = )", dir, R"(/master-users
  master = yes
  result_success = continue
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = )", dir, R"(/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=)", dir, R"(/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = )", d->port_, R"(
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = )", d->tls_port_, R"(
  }
}
)");
  if (!options.oauth2_token_info_url.empty()) {
    // username_format empty: an app-only token names no user, so any mailbox may be asked for;
    // `scope` is matched against the answer's aud.
    if (absl::Status s = WriteFile(dir + "/oauth2.conf",
                                   absl::StrCat("introspection_mode = auth\n",
                                                "introspection_url = ", options.oauth2_token_info_url,
                                                "\nusername_attribute = aud\nusername_format =\n",
                                                "scope = ", options.oauth2_audience, "\n"));
        !s.ok()) {
      return s;
    }
    absl::StrAppend(&conf, "passdb {\n  driver = oauth2\n  mechanisms = xoauth2\n  args = ", dir,
                    "/oauth2.conf\n}\n");
  }
  if (options.tls) {
    absl::StrAppend(&conf, "ssl = yes\nssl_cert = <", d->ca_file_, "\nssl_key = <", dir,
                    "/key.pem\n");
  } else {
    absl::StrAppend(&conf, "ssl = no\n");
  }
  if (options.max_message_bytes > 0 || options.max_messages > 0) {
    absl::StrAppend(&conf, "mail_plugins = $mail_plugins quota\nplugin {\n  quota_vsizes = yes\n",
                    "  quota = count:User quota\n  quota_rule = *:storage=10G\n");
    if (options.max_messages > 0) {
      absl::StrAppend(&conf, "  quota_rule2 = *:messages=", options.max_messages, "\n");
    }
    if (options.max_message_bytes > 0) {
      absl::StrAppend(&conf, "  quota_max_mail_size = ", options.max_message_bytes, "\n");
    }
    absl::StrAppend(&conf, "}\n");
  }
  d->config_path_ = dir + "/dovecot.conf";
  if (absl::Status s = WriteFile(d->config_path_, conf); !s.ok()) return s;
  if (absl::Status s = d->Launch(); !s.ok()) return s;
  return d;
}

absl::Status DovecotProcess::Launch() {
  absl::StatusOr<std::unique_ptr<zarc::testing::Subprocess>> p = zarc::testing::Subprocess::Start(
      {.argv = {kDovecot, "-F", "-c", config_path_}, .merge_stderr = true});
  if (!p.ok()) return p.status();
  process_ = *std::move(p);
  absl::Status up = WaitForPort(port_, true, absl::Seconds(20));
  if (up.ok() && options_.tls) up = WaitForPort(tls_port_, true, absl::Seconds(20));
  if (!up.ok()) {
    std::string log;
    std::ifstream in(dir() + "/dovecot.log");
    std::getline(in, log, '\0');
    if (process_->Wait(absl::Milliseconds(100)).ok()) log += process_->ReadRemaining(absl::Seconds(1));
    process_.reset();
    return absl::InternalError(absl::StrCat("Dovecot did not start: ", up.message(), "; log:\n", log));
  }
  return absl::OkStatus();
}

absl::Status DovecotProcess::Stop() {
  if (process_ == nullptr) return absl::OkStatus();
  process_->Signal(SIGTERM);
  absl::StatusOr<int> code = process_->Wait(absl::Seconds(20));
  process_.reset();
  if (!code.ok()) return code.status();
  return WaitForPort(port_, false, absl::Seconds(20));
}

absl::Status DovecotProcess::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  return Launch();
}

DovecotProcess::~DovecotProcess() { (void)Stop(); }

absl::StatusOr<ProbeResult> ProbeMailbox(const DovecotProcess& dovecot, const std::string& mailbox,
                                         const std::string& folder) {
  const std::string script = zarc::testing::SourcePath("services/importer/testing/imap_probe.py");
  absl::StatusOr<std::unique_ptr<zarc::testing::Subprocess>> p = zarc::testing::Subprocess::Start(
      {.argv = {"/usr/bin/python3", script, "127.0.0.1", std::to_string(dovecot.port()),
                mailbox + "*" + dovecot.options().master_user, dovecot.options().master_password,
                folder},
       .merge_stderr = true});
  if (!p.ok()) return p.status();
  const std::string out = (*p)->ReadRemaining(absl::Seconds(60));
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(10));
  if (!code.ok()) return code.status();
  if (*code != 0) return absl::InternalError(absl::StrCat("imap_probe.py failed (", *code, "): ", out));
  absl::StatusOr<json::Value> v = json::Parse(out, "imap_probe output");
  if (!v.ok()) return v.status();
  ProbeResult r;
  for (const json::Value& f : v->at("folders").AsArray()) r.folders.push_back(f.AsString());
  r.folder_exists = json::Bool(*v, "folder_exists");
  for (const json::Value& m : json::Array(*v, "messages")) {
    r.messages.push_back(ProbedMessage{
        .uid = static_cast<uint32_t>(json::Int(m, "uid")),
        .flags = json::String(m, "flags"),
        .internal_date = json::Int(m, "internal_date"),
        .sha256 = json::String(m, "sha256"),
        .size = static_cast<uint64_t>(json::Int(m, "size")),
        .message_id = json::String(m, "message_id"),
    });
  }
  return r;
}

}  // namespace zarc::importer::testing
