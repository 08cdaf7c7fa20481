#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "runtime/json/json.h"

// What the cross-service tests check one-machine runs against: the expectation worked out from
// the Zoom simulator's manifest alone, and what the .eml mailboxes hold, read from the files.
namespace zarc::testing {

// mailbox -> Message-IDs it must hold. csv-only mapping delivers every host and participant
// address in the tenant's domain to itself; each meeting has one version.
std::map<std::string, std::set<std::string>> ExpectedFromManifest(const json::Value& manifest);
int64_t Pairs(const std::map<std::string, std::set<std::string>>& expected);

// mailbox -> Message-ID -> how many .eml files under MAILBOXES/<mailbox>/Inbox/Zoom Meetings/
// carry it (Message-ID header read from each file).
using MailboxContents = std::map<std::string, std::map<std::string, int>>;
MailboxContents ReadEmlMailboxes(const std::string& mailboxes_root);
// The same for Dovecot's maildirs under MAIL_ROOT/<mailbox>/Maildir/, folder INBOX/Zoom Meetings
// (cur/ and new/; tmp/ holds deliveries not finished).
MailboxContents ReadMaildirMailboxes(const std::string& mail_root);
int64_t Count(const MailboxContents& contents);

struct AuditResult {
  int64_t missing = 0;     // expected pairs with no message
  int64_t duplicated = 0;  // expected pairs with more than one
  int64_t unexpected = 0;  // messages the manifest does not call for
  std::string examples;    // a few of each, for the failure message
};
AuditResult Audit(const std::map<std::string, std::set<std::string>>& expected,
                  const MailboxContents& contents);

// The .eml files (whole text) under MAILBOXES/*/Inbox/Zoom Meetings/ whose Message-ID is `id`.
std::vector<std::string> MessagesWithId(const std::string& mailboxes_root, const std::string& id);
// The decoded text/plain body of a rendered message; "" when it has none.
std::string PlainBody(const std::string& message);

// Sum of one field over the "days" of `zarc log --format=json`.
int64_t SumDays(const json::Value& log, const char* field);

}  // namespace zarc::testing
