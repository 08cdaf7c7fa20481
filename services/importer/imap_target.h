#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "runtime/entra/token_source.h"
#include "services/importer/imap_client.h"
#include "services/importer/mailbox_target.h"

namespace zarc::importer {

struct ImapTargetOptions {
  ImapConnectOptions server;
  // How the importer logs in for a mailbox:
  //  "master":  LOGIN "<mailbox><separator><master_user>" with the master password (Dovecot master
  //             users; one credential reaches every mailbox);
  //  "plain":   LOGIN as the mailbox with the password in file <password_dir>/<mailbox>;
  //  "xoauth2": AUTHENTICATE XOAUTH2 as the mailbox with an app-only bearer token (Exchange
  //             Online): zarc's own, from `oauth` (client credentials, refreshed before it
  //             expires), or else the one in token_file, re-read at every delivery.
  std::string auth = "master";
  std::string master_user;
  std::string master_separator = "*";
  std::string password;  // master password (secret)
  std::string password_dir;
  std::string token_file;
  // The app registration xoauth2 asks tokens for, for `oauth_scope`. A token the server refuses
  // is dropped and a fresh one tried once, on a new connection.
  std::optional<entra::Credentials> oauth;
  std::string oauth_scope = "https://outlook.office365.com/.default";
  std::string oauth_ca_file;              // extra CA for the token endpoint (tests)
  std::function<absl::Time()> oauth_now;  // tests; default absl::Now; also ages idle connections
  // Connections kept logged in, with the Zoom Meetings folder selected, for the next delivery
  // to the same mailbox (0: one connection per delivery), and for how long an idle one is kept.
  // Deliveries to one mailbox come one at a time (the stage runner keys them by mailbox), so
  // this many mailboxes are served without a new login.
  int max_idle_connections = 32;
  absl::Duration idle_timeout = absl::Seconds(60);
};

// Delivers into "INBOX<sep>Zoom Meetings" over IMAP: a connection logged in for the mailbox,
// reused from the last delivery to it when one is idle (a reused connection that fails before
// anything was appended is replaced by a new one at once); the folder is created when missing
// (and subscribed); a UID SEARCH by Message-ID before APPEND makes a retried
// delivery find its earlier copy; APPEND carries \Seen and the meeting start as INTERNALDATE.
// Thread-safe (a connection serves one delivery at a time).
class ImapTarget final : public MailboxTarget {
 public:
  explicit ImapTarget(ImapTargetOptions options);
  ~ImapTarget() override;
  absl::StatusOr<DeliveryOutcome> Deliver(const DeliveryRequest& request) override;
  std::string name() const override { return "imap"; }

 private:
  // A connection logged in for `mailbox`, or why not (RefusedLogin's classes).
  absl::StatusOr<std::unique_ptr<ImapClient>> ConnectAs(const std::string& mailbox);
  // `token_used` is set to the bearer token sent, for a refusal to drop it.
  absl::Status LogIn(ImapClient& client, const std::string& mailbox,
                     std::string* token_used = nullptr) const;
  // A refused login: NOT_FOUND when the shared credentials still work for another mailbox (so
  // this mailbox is missing), UNAVAILABLE when they are the problem or that cannot be told.
  absl::Status RefusedLogin(const absl::Status& refused, const std::string& mailbox);
  ImapTargetOptions options_;
  struct Idle {
    std::string mailbox;
    std::string folder;  // selected
    std::unique_ptr<ImapClient> client;
    absl::Time since;
  };
  // A connection of `mailbox` delivered with `folder` selected, and the delivery on it.
  absl::StatusOr<DeliveryOutcome> DeliverOn(ImapClient& client, const std::string& folder,
                                            const DeliveryRequest& request);
  absl::Time Now() const;
  std::optional<Idle> TakeIdle(const std::string& mailbox);
  void KeepIdle(Idle idle);

  std::unique_ptr<http::HttpClient> token_http_;
  std::unique_ptr<entra::TokenSource> tokens_;
  absl::Mutex mutex_;
  std::string known_good_mailbox_ ABSL_GUARDED_BY(mutex_);  // last mailbox logged in to
  std::vector<Idle> idle_ ABSL_GUARDED_BY(mutex_);          // oldest first
};

}  // namespace zarc::importer
