#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/importer/console/console_auth.h"
#include "services/importer/status_log.h"
#include "zarc/v1/control.pb.h"
#include "zarc/v1/events.pb.h"

// The console's pages as pure functions of what they show: whole HTML documents (lang, one
// inline style sheet, nothing loaded from elsewhere, no script), testable without a network.
namespace zarc::importer::console {

// What every page needs besides its content.
struct PageContext {
  Principal who;
  bool mapping_available = false;   // a mapper is reachable (in-process or console.mapper_address)
  bool backfill_available = false;  // a fetcher is reachable (in-process or console.fetcher_address)
};

// What the process knows about the connector, each row a (what, value) pair; a value the process
// does not know is "unknown" with the reason.
struct ConnectorStatus {
  std::string process;  // "zarc run", "zarc-importer"
  std::string version;  // the version line (runtime/build_info)
  std::vector<std::pair<std::string, std::string>> rows;
  std::vector<std::string> errors;  // current errors, in plain words
};

std::string HtmlEscape(absl::string_view text);

std::string RenderStatusPage(const PageContext& ctx, const ConnectorStatus& status);
// The daily figures, each day linking to its items.
std::string RenderDaysPage(const PageContext& ctx, const StatusReport& report);
// Every result of one day: item, mailbox, outcome, reason, artifacts.
std::string RenderDayPage(const PageContext& ctx, absl::string_view day,
                          const std::vector<zarc::v1::ImportResult>& results);
// One item: each mailbox's outcome and reason, then each artifact with its size and SHA-256.
std::string RenderItemPage(const PageContext& ctx, absl::string_view item_id,
                           const std::vector<zarc::v1::ImportResult>& results);
// The newest `zarc verify` report, or a page saying no check has run.
std::string RenderCompletenessPage(const PageContext& ctx,
                                   const std::optional<zarc::v1::VerifyReport>& report);
std::string RenderDownloadsPage(const PageContext& ctx);
// The lookup form; with `answer`, what the mapper said for `address`.
std::string RenderMappingPage(const PageContext& ctx, absl::string_view address,
                              const absl::StatusOr<zarc::v1::ResolveResponse>* answer);
// The backfill form (admins); `outcome` is what the last submission did, if any.
std::string RenderBackfillPage(const PageContext& ctx, absl::string_view outcome);
std::string RenderErrorPage(int status, absl::string_view message);

}  // namespace zarc::importer::console
