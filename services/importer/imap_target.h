#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/importer/imap_client.h"
#include "services/importer/mailbox_target.h"

namespace zarc::importer {

struct ImapTargetOptions {
  ImapConnectOptions server;
  // How the importer logs in for a mailbox:
  //  "master":  LOGIN "<mailbox><separator><master_user>" with the master password (Dovecot master
  //             users; one credential reaches every mailbox);
  //  "plain":   LOGIN as the mailbox with the password in file <password_dir>/<mailbox>;
  //  "xoauth2": AUTHENTICATE XOAUTH2 as the mailbox with the bearer token read from token_file at
  //             every delivery (Exchange Online app-only IMAP; the operator refreshes the file).
  std::string auth = "master";
  std::string master_user;
  std::string master_separator = "*";
  std::string password;  // master password (secret)
  std::string password_dir;
  std::string token_file;
};

// Delivers into "INBOX<sep>Zoom Meetings" over IMAP: one connection per delivery; the folder is
// created when missing (and subscribed); a UID SEARCH by Message-ID before APPEND makes a retried
// delivery find its earlier copy; APPEND carries \Seen and the meeting start as INTERNALDATE.
// Thread-safe (no shared connection state).
class ImapTarget final : public MailboxTarget {
 public:
  explicit ImapTarget(ImapTargetOptions options) : options_(std::move(options)) {}
  absl::StatusOr<DeliveryOutcome> Deliver(const DeliveryRequest& request) override;
  std::string name() const override { return "imap"; }

 private:
  absl::Status LogIn(ImapClient& client, const std::string& mailbox) const;
  // A refused login: NOT_FOUND when the shared credentials still work for another mailbox (so
  // this mailbox is missing), UNAVAILABLE when they are the problem or that cannot be told.
  absl::Status RefusedLogin(const absl::Status& refused, const std::string& mailbox);
  ImapTargetOptions options_;
  absl::Mutex mutex_;
  std::string known_good_mailbox_ ABSL_GUARDED_BY(mutex_);  // last mailbox logged in to
};

}  // namespace zarc::importer
