#include "services/importer/console/console_pages.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "runtime/http/http_types.h"

namespace zarc::importer::console {
namespace {

// One style sheet for every page, inline (nothing is fetched from elsewhere). Colours meet WCAG
// AA contrast (4.5:1) on white.
constexpr char kStyle[] =
    "body{font-family:system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}"
    "header{background:#12355b;color:#fff;padding:.6rem 1rem}"
    "header a{color:#fff;margin-right:1rem}header strong{margin-right:2rem}"
    "main{padding:1rem}a{color:#0b4fbf}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "th,td{border:1px solid #767676;padding:.3rem .6rem;text-align:left;vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#eef1f5}"
    "caption{text-align:left;font-weight:bold;padding:.3rem 0}"
    ".error{color:#a30000}.ok{color:#0a6b2c}"
    "label{display:inline-block;margin-right:.5rem}input,button{font:inherit;padding:.2rem .4rem}"
    ":focus{outline:3px solid #f2a900}";

std::string Page(const PageContext& ctx, absl::string_view title, absl::string_view body) {
  std::string nav = "<a href=\"/\">Status</a><a href=\"/days\">Status log</a>"
                    "<a href=\"/completeness\">Completeness</a><a href=\"/downloads\">Downloads</a>";
  if (ctx.mapping_available) nav += "<a href=\"/mapping\">Mapping lookup</a>";
  if (ctx.backfill_available && ctx.who.role == Role::kAdmin) nav += "<a href=\"/backfill\">Backfill</a>";
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>", HtmlEscape(title), " — zarc</title><style>", kStyle, "</style></head><body>"
      "<header><strong>zarc console</strong><nav aria-label=\"Pages\">", nav,
      "</nav></header><main><h1>", HtmlEscape(title), "</h1>", body,
      "<p><small>Signed in as ", HtmlEscape(ctx.who.name), " (",
      ctx.who.role == Role::kAdmin ? "admin" : "viewer", "). Read-only.</small></p>"
      "</main></body></html>\n");
}

std::string Cell(absl::string_view text) { return absl::StrCat("<td>", HtmlEscape(text), "</td>"); }
std::string Num(absl::string_view field, int64_t n) {
  return absl::StrCat("<td class=\"n\" data-field=\"", field, "\">", n, "</td>");
}

std::string Outcome(zarc::v1::ImportOutcome o) {
  switch (o) {
    case zarc::v1::IMPORT_OUTCOME_IMPORTED:
      return "imported";
    case zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED:
      return "partially imported";
    case zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE:
      return "skipped (duplicate)";
    case zarc::v1::IMPORT_OUTCOME_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

std::string Rule(zarc::v1::MappingRule r) {
  static const std::map<int, std::string> kNames = {
      {zarc::v1::MAPPING_RULE_CUSTOM_MAPPING, "custom mapping (CSV)"},
      {zarc::v1::MAPPING_RULE_MAIL, "mail property"},
      {zarc::v1::MAPPING_RULE_PROXY_ADDRESS, "proxy address"},
      {zarc::v1::MAPPING_RULE_FALLBACK, "fallback mailbox"},
      {zarc::v1::MAPPING_RULE_EXTERNAL, "external (not delivered)"},
      {zarc::v1::MAPPING_RULE_NOT_FOUND, "not found"},
      {zarc::v1::MAPPING_RULE_DISABLED, "disabled"},
      {zarc::v1::MAPPING_RULE_OUT_OF_SCOPE, "out of scope"}};
  auto it = kNames.find(r);
  return it == kNames.end() ? "unspecified" : it->second;
}

// The item's page, its id as a query value (RFC 3986: unreserved characters kept).
std::string ItemLink(absl::string_view item_id) {
  std::string query;
  for (unsigned char c : item_id) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      query.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&query, "%%%02X", c);
    }
  }
  return absl::StrCat("<a href=\"/item?id=", query, "\">", HtmlEscape(item_id), "</a>");
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "unknown";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string RenderStatusPage(const PageContext& ctx, const ConnectorStatus& status) {
  std::string body = absl::StrCat("<p>", HtmlEscape(status.process), " — ",
                                  HtmlEscape(status.version), "</p>");
  absl::StrAppend(&body, "<table><caption>Connector status</caption><thead><tr>"
                         "<th scope=\"col\">What</th><th scope=\"col\">Value</th></tr></thead><tbody>");
  for (const auto& [what, value] : status.rows) {
    absl::StrAppend(&body, "<tr><th scope=\"row\">", HtmlEscape(what), "</th>", Cell(value), "</tr>");
  }
  absl::StrAppend(&body, "</tbody></table><h2>Current errors</h2>");
  if (status.errors.empty()) {
    absl::StrAppend(&body, "<p class=\"ok\">None.</p>");
  } else {
    absl::StrAppend(&body, "<ul>");
    for (const std::string& e : status.errors) {
      absl::StrAppend(&body, "<li class=\"error\">", HtmlEscape(e), "</li>");
    }
    absl::StrAppend(&body, "</ul>");
  }
  return Page(ctx, "Status", body);
}

std::string RenderDaysPage(const PageContext& ctx, const StatusReport& report) {
  std::string body =
      "<p>Per UTC day, as <code>zarc log</code> shows it. Select a day for its items.</p>"
      "<table id=\"days\"><caption>Daily figures</caption><thead><tr>"
      "<th scope=\"col\">Day</th><th scope=\"col\">Available from source</th>"
      "<th scope=\"col\">Available for import</th><th scope=\"col\">Imported</th>"
      "<th scope=\"col\">Partially imported</th><th scope=\"col\">Skipped (duplicates)</th>"
      "<th scope=\"col\">Failed</th></tr></thead><tbody>";
  for (const DayFigures& d : report.days) {
    const std::string day = HtmlEscape(d.day);
    absl::StrAppend(&body, "<tr data-day=\"", day, "\"><th scope=\"row\"><a href=\"/day?d=", day,
                    "\">", day, "</a></th>", Num("available_from_source", d.available_from_source),
                    Num("available_for_import", d.available_for_import), Num("imported", d.imported),
                    Num("partially_imported", d.partially_imported), Num("skipped", d.skipped),
                    Num("failed", d.failed), "</tr>");
  }
  if (report.days.empty()) absl::StrAppend(&body, "<tr><td colspan=\"7\">No results yet.</td></tr>");
  absl::StrAppend(&body, "</tbody></table>");
  absl::StrAppend(&body, "<table id=\"failed\"><caption>Failed items</caption><thead><tr>"
                         "<th scope=\"col\">Day</th><th scope=\"col\">Item</th>"
                         "<th scope=\"col\">Source user</th><th scope=\"col\">Microsoft 365 user</th>"
                         "<th scope=\"col\">Reason</th></tr></thead><tbody>");
  for (const FailedItem& f : report.failed) {
    absl::StrAppend(&body, "<tr>", Cell(f.day), Cell(f.item_id), Cell(f.source_user), Cell(f.mailbox),
                    Cell(f.reason), "</tr>");
  }
  if (report.failed.empty()) absl::StrAppend(&body, "<tr><td colspan=\"5\">None.</td></tr>");
  absl::StrAppend(&body, "</tbody></table>");
  absl::StrAppend(&body, "<table id=\"not_delivered\"><caption>Participants not delivered to</caption>"
                         "<thead><tr><th scope=\"col\">Day</th><th scope=\"col\">Item</th>"
                         "<th scope=\"col\">Address</th><th scope=\"col\">Rule</th>"
                         "<th scope=\"col\">Reason</th></tr></thead><tbody>");
  for (const NotDelivered& n : report.not_delivered) {
    absl::StrAppend(&body, "<tr>", Cell(n.day), Cell(n.item_id), Cell(n.address), Cell(n.rule),
                    Cell(n.reason), "</tr>");
  }
  if (report.not_delivered.empty()) absl::StrAppend(&body, "<tr><td colspan=\"5\">None.</td></tr>");
  absl::StrAppend(&body, "</tbody></table>");
  return Page(ctx, "Status log", body);
}

std::string RenderDayPage(const PageContext& ctx, absl::string_view day,
                          const std::vector<zarc::v1::ImportResult>& results) {
  std::string body = absl::StrCat(
      "<p><a href=\"/days\">All days</a>. Each delivery of ", HtmlEscape(day),
      " (UTC). Select an item for its artifacts with their SHA-256.</p>"
      "<table id=\"items\"><caption>Items of ", HtmlEscape(day), "</caption><thead><tr>"
      "<th scope=\"col\">Item</th><th scope=\"col\">Source user</th><th scope=\"col\">Mailbox</th>"
      "<th scope=\"col\">Outcome</th><th scope=\"col\">Reason</th><th scope=\"col\">Target</th>"
      "<th scope=\"col\">Size (bytes)</th><th scope=\"col\">Artifacts out of line</th>"
      "<th scope=\"col\">Message-ID</th><th scope=\"col\">Meeting start</th>"
      "<th scope=\"col\">Participants not delivered to</th></tr></thead><tbody>");
  for (const zarc::v1::ImportResult& r : results) {
    std::string unmapped;
    for (const zarc::v1::AddressResolution& u : r.unmapped()) {
      absl::StrAppend(&unmapped, unmapped.empty() ? "" : "; ", u.address(), " (", Rule(u.rule()), ")");
    }
    absl::StrAppend(&body, "<tr><td>", ItemLink(r.item_id()), "</td>", Cell(r.source_user()),
                    Cell(r.mailbox().empty() ? "-" : r.mailbox()), Cell(Outcome(r.outcome())),
                    Cell(r.reason()), Cell(r.target()), Num("size", static_cast<int64_t>(r.size())),
                    Num("artifacts_out_of_line", r.artifacts_out_of_line()), Cell(r.message_id()),
                    Cell(Time(r.meeting_start())), Cell(unmapped.empty() ? "none" : unmapped), "</tr>");
  }
  if (results.empty()) absl::StrAppend(&body, "<tr><td colspan=\"11\">No results on this day.</td></tr>");
  absl::StrAppend(&body, "</tbody></table>");
  return Page(ctx, absl::StrCat("Items of ", day), body);
}

std::string RenderItemPage(const PageContext& ctx, absl::string_view item_id,
                           const std::vector<zarc::v1::ImportResult>& results) {
  const std::string id = HtmlEscape(item_id);
  std::string body = absl::StrCat(
      "<p><a href=\"/days\">All days</a>. Item <code>", id, "</code>",
      results.empty() ? "" : absl::StrCat(": ", HtmlEscape(results[0].source_user()), ", meeting of ",
                                          Time(results[0].meeting_start())),
      ".</p><table id=\"deliveries\"><caption>Mailboxes</caption><thead><tr>"
      "<th scope=\"col\">Mailbox</th><th scope=\"col\">Outcome</th><th scope=\"col\">Reason</th>"
      "<th scope=\"col\">Target</th><th scope=\"col\">Completed</th></tr></thead><tbody>");
  // Every delivery of an item carries the item's artifacts (the same message): list them once.
  const zarc::v1::ImportResult* with_artifacts = nullptr;
  for (const zarc::v1::ImportResult& r : results) {
    absl::StrAppend(&body, "<tr>", Cell(r.mailbox().empty() ? "-" : r.mailbox()),
                    Cell(Outcome(r.outcome())), Cell(r.reason().empty() ? "-" : r.reason()),
                    Cell(r.target()), Cell(Time(r.completed_at())), "</tr>");
    if (with_artifacts == nullptr && r.artifacts_size() > 0) with_artifacts = &r;
  }
  if (results.empty()) {
    absl::StrAppend(&body, "<tr><td colspan=\"5\">The status log has no result for this item.</td></tr>");
  }
  absl::StrAppend(&body, "</tbody></table><table id=\"artifacts\"><caption>Artifacts</caption><thead><tr>"
                         "<th scope=\"col\">Name</th><th scope=\"col\">Kind</th>"
                         "<th scope=\"col\">Size (bytes)</th><th scope=\"col\">SHA-256</th>"
                         "<th scope=\"col\">In the message</th></tr></thead><tbody>");
  if (with_artifacts != nullptr) {
    for (const zarc::v1::ItemArtifact& a : with_artifacts->artifacts()) {
      absl::StrAppend(&body, "<tr data-artifact=\"", HtmlEscape(a.name()), "\">", Cell(a.name()),
                      Cell(ArtifactKindName(a.kind())), Num("size", static_cast<int64_t>(a.size())),
                      "<td data-field=\"sha256\"><code>", HtmlEscape(a.sha256()), "</code></td>",
                      Cell(a.attached() ? "attached"
                                        : "referenced (too large; copied into the archive)"),
                      "</tr>");
    }
  } else {
    absl::StrAppend(&body, "<tr><td colspan=\"5\">None recorded (a meeting without files, or a "
                           "result from before the mailbox delivery).</td></tr>");
  }
  absl::StrAppend(&body, "</tbody></table>");
  return Page(ctx, absl::StrCat("Item ", item_id), body);
}

std::string RenderCompletenessPage(const PageContext& ctx,
                                   const std::optional<zarc::v1::VerifyReport>& report) {
  if (!report.has_value()) {
    return Page(ctx, "Completeness",
                "<p>No completeness check has run yet. Run <code>zarc verify --from DATE --to "
                "DATE</code>; its report shows here.</p>");
  }
  const zarc::v1::VerifyReport& r = *report;
  std::string body = absl::StrCat(
      "<p>The newest <code>zarc verify</code>: meetings that started from ", Time(r.from()), " to ",
      Time(r.to()), ", checked ", Time(r.ran_at()), r.report_only() ? " (report only)" : "",
      ".</p><table id=\"completeness\"><caption>Completeness</caption><tbody>");
  for (const auto& [what, field, n] :
       std::vector<std::tuple<std::string, std::string, int64_t>>{
           {"Meetings at Zoom", "meetings_at_zoom", r.meetings_at_zoom()},
           {"Captured", "captured", r.captured()},
           {"Fully delivered", "fully_delivered", r.fully_delivered()},
           {"Partially delivered", "partially_delivered", r.partially_delivered()},
           {"Not delivered", "not_delivered", r.not_delivered()},
           {"Not captured", "not_captured", r.not_captured()},
           {"Missing anything", "missing", r.missing()}}) {
    absl::StrAppend(&body, "<tr><th scope=\"row\">", what, "</th>", Num(field, n), "</tr>");
  }
  absl::StrAppend(&body, "</tbody></table>");
  if (r.listing_errors_size() > 0) {
    absl::StrAppend(&body, "<h2>Zoom listings that failed (the check is incomplete)</h2><ul>");
    for (const std::string& e : r.listing_errors()) {
      absl::StrAppend(&body, "<li class=\"error\">", HtmlEscape(e), "</li>");
    }
    absl::StrAppend(&body, "</ul>");
  }
  absl::StrAppend(&body, "<table id=\"gaps\"><caption>Meetings not fully delivered</caption><thead><tr>"
                         "<th scope=\"col\">Meeting</th><th scope=\"col\">Topic</th>"
                         "<th scope=\"col\">Host</th><th scope=\"col\">Start</th>"
                         "<th scope=\"col\">Mailboxes settled</th><th scope=\"col\">Why</th>"
                         "<th scope=\"col\">What verify did</th></tr></thead><tbody>");
  for (const zarc::v1::VerifyGap& g : r.gaps()) {
    std::string reasons;
    for (const std::string& why : g.reasons()) absl::StrAppend(&reasons, reasons.empty() ? "" : "; ", why);
    absl::StrAppend(&body, "<tr>", Cell(g.meeting_uuid()), Cell(g.topic()), Cell(g.host_email()),
                    Cell(Time(g.start_time())),
                    Cell(absl::StrCat(g.mailboxes_settled(), " of ", g.mailboxes())), Cell(reasons),
                    Cell(g.driven()), "</tr>");
  }
  if (r.gaps_size() == 0) absl::StrAppend(&body, "<tr><td colspan=\"7\">None: every meeting is complete.</td></tr>");
  absl::StrAppend(&body, "</tbody></table>");
  return Page(ctx, "Completeness", body);
}

std::string RenderDownloadsPage(const PageContext& ctx) {
  return Page(
      ctx, "Downloads",
      "<p>The status log, one CSV file per table (RFC 4180; a cell starting with = + - @ is "
      "prefixed with ' so a spreadsheet shows it as text), or all of it as JSON (the same as "
      "<code>zarc log --format json</code>).</p><ul>"
      "<li><a href=\"/download/days.csv\" download>days.csv</a>: the daily figures</li>"
      "<li><a href=\"/download/failed.csv\" download>failed.csv</a>: every failed item with its reason</li>"
      "<li><a href=\"/download/not_delivered.csv\" download>not_delivered.csv</a>: participants not "
      "delivered to</li>"
      "<li><a href=\"/download/partially_imported.csv\" download>partially_imported.csv</a>: "
      "partially imported items with what they lack</li>"
      "<li><a href=\"/download/artifacts.csv\" download>artifacts.csv</a>: every item's "
      "artifacts with size and SHA-256</li>"
      "<li><a href=\"/download/status.json\" download>status.json</a>: everything</li></ul>");
}

std::string RenderMappingPage(const PageContext& ctx, absl::string_view address,
                              const absl::StatusOr<zarc::v1::ResolveResponse>* answer) {
  std::string body = absl::StrCat(
      "<form method=\"get\" action=\"/mapping\"><label for=\"address\">Zoom participant's email "
      "address</label><input id=\"address\" name=\"address\" type=\"email\" required value=\"",
      HtmlEscape(address), "\"><button type=\"submit\">Look up</button></form>");
  if (answer != nullptr) {
    if (!answer->ok()) {
      absl::StrAppend(&body, "<p class=\"error\" role=\"alert\">The mapper did not answer: ",
                      HtmlEscape(answer->status().message()), "</p>");
    } else {
      absl::StrAppend(&body, "<table id=\"mapping\"><caption>How the mapper resolves it</caption>"
                             "<thead><tr><th scope=\"col\">Address</th><th scope=\"col\">Rule</th>"
                             "<th scope=\"col\">Mailbox</th><th scope=\"col\">Why</th></tr></thead><tbody>");
      for (const zarc::v1::AddressResolution& r : (*answer)->results()) {
        absl::StrAppend(&body, "<tr>", Cell(r.address()), Cell(Rule(r.rule())),
                        Cell(r.mailbox().empty() ? "none" : r.mailbox()), Cell(r.reason()), "</tr>");
      }
      absl::StrAppend(&body, "</tbody></table>");
    }
  }
  return Page(ctx, "Mapping lookup", body);
}

std::string RenderBackfillPage(const PageContext& ctx, absl::string_view outcome) {
  std::string body =
      "<p>Captures every meeting that started in the range again (<code>zarc sync</code>). What "
      "was already archived is recognised and not delivered twice.</p>"
      "<form method=\"post\" action=\"/backfill\"><label for=\"from\">From (UTC day)</label>"
      "<input id=\"from\" name=\"from\" type=\"date\" required> <label for=\"to\">To (UTC day, "
      "exclusive)</label><input id=\"to\" name=\"to\" type=\"date\" required> "
      "<button type=\"submit\">Start backfill</button></form>";
  if (!outcome.empty()) {
    absl::StrAppend(&body, "<p role=\"status\">", HtmlEscape(outcome), "</p>");
  }
  return Page(ctx, "Backfill", body);
}

std::string RenderErrorPage(int status, absl::string_view message) {
  return absl::StrCat("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>",
                      status, " — zarc</title><style>", kStyle, "</style></head><body><main><h1>",
                      status, "</h1><p>", HtmlEscape(message), "</p></main></body></html>\n");
}

}  // namespace zarc::importer::console
