#include "services/importer/imap_target.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace zarc::importer {
namespace {

// A credential missing or empty is the importer's problem, never the item's (a token file is
// being rewritten, a secret not mounted yet): UNAVAILABLE, so the delivery waits for it.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::UnavailableError(absl::StrCat("cannot read the ", what, " file \"", path,
                                               "\": check it exists and is readable; the "
                                               "delivery is retried until it is"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  absl::StripTrailingAsciiWhitespace(&s);
  if (s.empty()) {
    return absl::UnavailableError(absl::StrCat("the ", what, " file \"", path,
                                               "\" is empty (being rewritten?); the delivery is "
                                               "retried until it holds the secret"));
  }
  return s;
}

// A mailbox used as a file name must not walk out of the password folder.
bool SafeFileName(absl::string_view name) {
  if (name.empty() || name[0] == '.') return false;
  for (char c : name) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

}  // namespace

ImapTarget::ImapTarget(ImapTargetOptions options) : options_(std::move(options)) {
  if (options_.auth == "xoauth2" && options_.oauth.has_value()) {
    token_http_ = http::NewHttpClient(http::ClientOptions{.ca_file = options_.oauth_ca_file});
    tokens_ = std::make_unique<entra::TokenSource>(*token_http_, *options_.oauth,
                                                   options_.oauth_scope, options_.oauth_now);
  }
}

ImapTarget::~ImapTarget() {
  absl::MutexLock lock(&mutex_);
  for (Idle& idle : idle_) (void)idle.client->Logout();
}

absl::Status ImapTarget::LogIn(ImapClient& client, const std::string& mailbox,
                               std::string* token_used) const {
  absl::Status s;
  if (options_.auth == "master") {
    s = client.Login(absl::StrCat(mailbox, options_.master_separator, options_.master_user),
                     options_.password);
  } else if (options_.auth == "plain") {
    if (!SafeFileName(mailbox)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mailbox \"", mailbox, "\" cannot name a password file"));
    }
    absl::StatusOr<std::string> password =
        ReadSecretFile(absl::StrCat(options_.password_dir, "/", mailbox), "IMAP password");
    if (!password.ok()) return password.status();
    s = client.Login(mailbox, *password);
  } else if (options_.auth == "xoauth2") {
    absl::StatusOr<std::string> token =
        tokens_ != nullptr ? tokens_->Token()
                           : ReadSecretFile(options_.token_file, "IMAP OAuth2 token");
    if (!token.ok()) return token.status();
    if (token_used != nullptr) *token_used = *token;
    s = client.AuthenticateXOAuth2(mailbox, *token);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "imap.auth = \"", options_.auth, "\" is not one of master, plain, xoauth2"));
  }
  return s;
}

absl::Status ImapTarget::RefusedLogin(const absl::Status& refused, const std::string& mailbox) {
  // A refused login (wrong or expired credentials, a token being renewed, a mechanism the server
  // does not offer) does not say whether the credentials or the mailbox are at fault. With one
  // credential for every mailbox (master, xoauth2) a login for a mailbox that worked before
  // tells them apart; per-mailbox passwords are credentials, always.
  if (!absl::IsPermissionDenied(refused) && !absl::IsFailedPrecondition(refused)) return refused;
  std::string probe;
  {
    absl::MutexLock lock(&mutex_);
    probe = known_good_mailbox_;
  }
  if (options_.auth != "plain" && !probe.empty() && probe != mailbox) {
    absl::StatusOr<std::unique_ptr<ImapClient>> other = ImapClient::Connect(options_.server);
    if (other.ok() && LogIn(**other, probe).ok()) {
      (void)(*other)->Logout();
      return absl::NotFoundError(absl::StrCat(
          "the IMAP server refused the login for mailbox ", mailbox,
          " while the importer's credentials still work for ", probe,
          ": the mailbox does not exist on the server; check the mapping: ", refused.message()));
    }
  }
  // Credentials are the importer's, never the item's failure: it waits (and raises
  // ZarcStageRecordStuck) until they are fixed.
  return absl::UnavailableError(absl::StrCat(
      "the IMAP server refused the login for mailbox ", mailbox,
      " (check the importer's imap.auth credentials, or that the mailbox exists on the "
      "server); retried until it succeeds: ",
      refused.message()));
}

absl::StatusOr<std::unique_ptr<ImapClient>> ImapTarget::ConnectAs(const std::string& mailbox) {
  absl::StatusOr<std::unique_ptr<ImapClient>> connected = ImapClient::Connect(options_.server);
  if (!connected.ok()) return connected.status();
  std::string token;
  absl::Status s = LogIn(**connected, mailbox, &token);
  if (!s.ok() && tokens_ != nullptr && !token.empty()) {
    // Exchange Online refuses a token before its expiry when it was revoked or the app's
    // permissions changed; one fresh token tells that apart from refused credentials. The
    // server may have closed the connection after a refusal, so the retry gets a new one.
    tokens_->Invalidate(token);
    connected = ImapClient::Connect(options_.server);
    if (!connected.ok()) return connected.status();
    s = LogIn(**connected, mailbox);
  }
  if (!s.ok()) return RefusedLogin(s, mailbox);
  {
    absl::MutexLock lock(&mutex_);
    known_good_mailbox_ = mailbox;
  }
  return connected;
}

absl::Time ImapTarget::Now() const { return options_.oauth_now ? options_.oauth_now() : absl::Now(); }

std::optional<ImapTarget::Idle> ImapTarget::TakeIdle(const std::string& mailbox) {
  std::vector<Idle> expired;
  std::optional<Idle> found;
  {
    absl::MutexLock lock(&mutex_);
    const absl::Time now = Now();
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (now - it->since > options_.idle_timeout || now < it->since) {
        expired.push_back(std::move(*it));
        it = idle_.erase(it);
      } else if (!found.has_value() && it->mailbox == mailbox) {
        found = std::move(*it);
        it = idle_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Idle& e : expired) (void)e.client->Logout();
  return found;
}

void ImapTarget::KeepIdle(Idle idle) {
  std::optional<Idle> evicted;
  {
    absl::MutexLock lock(&mutex_);
    idle.since = Now();
    idle_.push_back(std::move(idle));
    if (static_cast<int>(idle_.size()) > options_.max_idle_connections) {
      evicted = std::move(idle_.front());
      idle_.erase(idle_.begin());
    }
  }
  if (evicted.has_value()) (void)evicted->client->Logout();
}

absl::StatusOr<DeliveryOutcome> ImapTarget::DeliverOn(ImapClient& client, const std::string& folder,
                                                      const DeliveryRequest& request) {
  absl::StatusOr<std::vector<uint32_t>> found = client.SearchMessageId(request.message_id);
  if (!found.ok()) return found.status();
  if (!found->empty()) return DeliveryOutcome::kAlreadyThere;
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = request.open();
  if (!source.ok()) return source.status();
  if (absl::Status s = client.Append(folder, "\\Seen", request.internal_date, request.size, **source);
      !s.ok()) {
    return s;
  }
  return DeliveryOutcome::kDelivered;
}

absl::StatusOr<DeliveryOutcome> ImapTarget::Deliver(const DeliveryRequest& request) {
  if (std::optional<Idle> idle = TakeIdle(request.mailbox)) {
    // The folder is selected again first. A session sees a message it appended only once the
    // server has announced it (EXISTS), which RFC 3501 leaves to the server's timing; Dovecot
    // announces at once, but a SELECT brings any server's view up to date before the
    // Message-ID search that keeps a retried delivery from being a duplicate. And if the
    // server closed the connection while idle, this fails before anything was appended, and a
    // new connection does the delivery.
    if (idle->client->Select(idle->folder).ok()) {
      absl::StatusOr<DeliveryOutcome> outcome = DeliverOn(*idle->client, idle->folder, request);
      if (outcome.ok()) {
        KeepIdle(*std::move(idle));
        return outcome;
      }
    }
  }
  absl::StatusOr<std::unique_ptr<ImapClient>> connected = ConnectAs(request.mailbox);
  if (!connected.ok()) return connected.status();
  ImapClient& client = **connected;

  absl::StatusOr<std::optional<char>> sep = client.HierarchySeparator();
  if (!sep.ok()) return sep.status();
  const std::string folder = sep->has_value()
                                 ? absl::StrCat("INBOX", std::string(1, **sep), kZoomFolderName)
                                 : std::string(kZoomFolderName);
  absl::Status selected = client.Select(folder);
  if (absl::IsNotFound(selected)) {
    if (absl::Status s = client.CreateIfMissing(folder); !s.ok()) return s;
    (void)client.Subscribe(folder);  // only so mail clients show it; not needed for delivery
    selected = client.Select(folder);
  }
  if (!selected.ok()) return selected;
  absl::StatusOr<DeliveryOutcome> outcome = DeliverOn(client, folder, request);
  if (!outcome.ok()) return outcome;
  if (options_.max_idle_connections > 0) {
    KeepIdle(Idle{.mailbox = request.mailbox, .folder = folder, .client = *std::move(connected)});
  } else {
    (void)client.Logout();
  }
  return outcome;
}

}  // namespace zarc::importer
