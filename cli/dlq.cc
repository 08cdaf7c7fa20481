// zarc dlq: what the stages gave up on (zarc.dead-letter), and re-submitting it once fixed.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "runtime/json/json.h"
#include "runtime/kafka/dead_letter.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/topics.h"
#include "services/importer/status_log.h"

namespace zarc::cli {
namespace {

constexpr char kDlqUsage[] =
    "usage: zarc dlq list [--brokers HOST:PORT] [--all] [--format table|json]\n"
    "       zarc dlq replay (--id ID [--id ID ...] | --all) [--brokers HOST:PORT] [--again]\n\n"
    "The records a stage gave up on (bad input: an event or a chat file that does not parse, a\n"
    "blob whose SHA-256 differs) are parked in zarc.dead-letter, and shown as FAILED in zarc log.\n"
    "  list      what is parked: id, stage, why (the error), since when (first failure), when it\n"
    "            was parked, from where (source topic/partition@offset), attempts, and the item\n"
    "            and mailbox it was meant for where known. --all also lists replayed ones.\n"
    "  replay    once the cause is fixed, re-submits each record exactly as the stage got it to\n"
    "            its source topic, then records that it was replayed (a marker in\n"
    "            zarc.dead-letter), so list no longer shows it. The stages are idempotent: a\n"
    "            replay of something already delivered delivers nothing twice. --id takes ids\n"
    "            from list (also comma-separated); --again re-submits ids replayed before.\n"
    "  --brokers Kafka (also ZARC_KAFKA_BROKERS)\n";

std::string When(absl::Time t) {
  if (t == absl::InfinitePast()) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone());
}

std::string Source(const kafka::DeadLetter& d) {
  return absl::StrCat(d.source_topic, "/", d.source_partition, "@", d.source_offset);
}

// The item and mailbox the letter was meant for, as the status log shows it.
std::pair<std::string, std::string> ItemOf(const kafka::DeadLetter& d) {
  std::vector<zarc::v1::ImportResult> results = importer::DeadLetterResults(d);
  if (results.empty()) return {"(an import result)", "-"};
  return {results[0].item_id(), results[0].mailbox().empty() ? "-" : results[0].mailbox()};
}

// Every dead letter, replayed ones marked; the error is printed here.
absl::StatusOr<std::vector<kafka::DeadLetter>> ReadLetters(const kafka::KafkaConfig& config) {
  absl::StatusOr<std::vector<kafka::DeadLetter>> letters =
      kafka::ReadDeadLetters(config, absl::Seconds(60));
  if (!letters.ok()) {
    std::fprintf(stderr, "zarc dlq: cannot read %s from %s: %s\n",
                 std::string(kafka::kDeadLetterTopic).c_str(), config.bootstrap_servers.c_str(),
                 std::string(letters.status().message()).c_str());
  }
  return letters;
}

int List(const kafka::KafkaConfig& config, bool all, const std::string& format) {
  absl::StatusOr<std::vector<kafka::DeadLetter>> letters = ReadLetters(config);
  if (!letters.ok()) return kExitFailed;
  std::vector<const kafka::DeadLetter*> shown;
  for (const kafka::DeadLetter& d : *letters) {
    if (all || d.parked()) shown.push_back(&d);
  }
  if (format == "json") {
    json::Value list = json::Value::Array();
    size_t i = 0;
    for (const kafka::DeadLetter* d : shown) {
      const auto [item, mailbox] = ItemOf(*d);
      json::Value v = json::Value::Object();
      v["id"] = json::Str(d->id);
      v["stage"] = json::Str(d->stage);
      v["error"] = json::Str(d->error);
      v["error_code"] = json::Str(d->error_code);
      v["attempts"] = json::Value::Number(d->attempts);
      v["first_failure"] =
          json::Str(absl::FormatTime(absl::RFC3339_sec, d->first_failure, absl::UTCTimeZone()));
      v["dead_lettered_at"] =
          json::Str(absl::FormatTime(absl::RFC3339_sec, d->dead_lettered_at, absl::UTCTimeZone()));
      v["source_topic"] = json::Str(d->source_topic);
      v["source_partition"] = json::Value::Number(d->source_partition);
      v["source_offset"] = json::Value::Number(static_cast<int64_t>(d->source_offset));
      v["item_id"] = json::Str(item);
      v["mailbox"] = json::Str(mailbox);
      v["parked"] = json::Value::Boolean(d->parked());
      if (!d->parked()) {
        v["replayed_at"] =
            json::Str(absl::FormatTime(absl::RFC3339_sec, d->replayed_at, absl::UTCTimeZone()));
      }
      list[i++] = v;
    }
    json::Value root = json::Value::Object();
    root["dead_letters"] = list;
    std::printf("%s\n", json::Serialize(root).c_str());
    return kExitOk;
  }
  if (shown.empty()) {
    std::printf("%s\n", all ? "no dead letters" : "nothing is parked in the dead-letter topic");
    return kExitOk;
  }
  std::string out = absl::StrFormat("%-8s  %-9s  %-19s  %-19s  %-8s  %-24s  %-30s  %s\n", "id",
                                    "stage", "failing since", "parked at", "attempts", "from",
                                    "item (mailbox)", all ? "state: error" : "error");
  for (const kafka::DeadLetter* d : shown) {
    const auto [item, mailbox] = ItemOf(*d);
    absl::StrAppendFormat(&out, "%-8s  %-9s  %-19s  %-19s  %-8d  %-24s  %-30s  %s%s\n", d->id,
                          d->stage, When(d->first_failure), When(d->dead_lettered_at), d->attempts,
                          Source(*d), absl::StrCat(item, " (", mailbox, ")"),
                          !all          ? ""
                          : d->parked() ? "parked: "
                                        : absl::StrCat("replayed ", When(d->replayed_at), ": "),
                          d->error);
  }
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

int Replay(const kafka::KafkaConfig& config, const std::set<std::string>& ids, bool all,
           bool again) {
  absl::StatusOr<std::vector<kafka::DeadLetter>> letters = ReadLetters(config);
  if (!letters.ok()) return kExitFailed;
  std::map<std::string, const kafka::DeadLetter*> by_id;
  for (const kafka::DeadLetter& d : *letters) by_id[d.id] = &d;
  std::vector<const kafka::DeadLetter*> chosen;
  for (const std::string& id : ids) {
    if (!by_id.count(id)) {
      std::fprintf(stderr, "zarc dlq: no dead letter has id %s (zarc dlq list --all shows them)\n",
                   id.c_str());
      return kExitUsage;
    }
  }
  for (const kafka::DeadLetter& d : *letters) {
    if (!all && !ids.count(d.id)) continue;
    if (!d.parked() && !again) {
      if (!all) {
        std::printf("%s was replayed already at %s; not again (add --again to re-submit it)\n",
                    d.id.c_str(), When(d.replayed_at).c_str());
      }
      continue;
    }
    chosen.push_back(&d);
  }
  if (chosen.empty()) {
    std::printf("nothing to replay\n");
    return kExitOk;
  }
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(config);
  if (!producer.ok()) {
    std::fprintf(stderr, "zarc dlq: %s\n", std::string(producer.status().message()).c_str());
    return kExitFailed;
  }
  // The originals first, acknowledged, then the marker: a crash in between leaves them parked, and
  // a second replay re-submits them, which the idempotent stages absorb.
  std::vector<kafka::OutgoingRecord> originals;
  std::vector<std::string> replayed;
  for (const kafka::DeadLetter* d : chosen) {
    kafka::OutgoingRecord r = d->original;
    r.headers.emplace_back("zarc-replayed-from", absl::StrCat(kafka::kDeadLetterTopic, "/", d->id));
    originals.push_back(std::move(r));
    replayed.push_back(d->id);
  }
  if (absl::Status s = (*producer)->ProduceAndWait(originals, absl::Seconds(60)); !s.ok()) {
    std::fprintf(stderr, "zarc dlq: re-submitting failed, nothing is marked replayed: %s\n",
                 std::string(s.message()).c_str());
    return kExitFailed;
  }
  if (absl::Status s = (*producer)->ProduceAndWait(
          {kafka::MakeReplayMarker(kafka::kDeadLetterTopic, replayed)}, absl::Seconds(60));
      !s.ok()) {
    std::fprintf(stderr,
                 "zarc dlq: re-submitted %zu records but could not mark them replayed (%s); "
                 "list still shows them, and replaying them again is harmless\n",
                 replayed.size(), std::string(s.message()).c_str());
    return kExitFailed;
  }
  for (const kafka::DeadLetter* d : chosen) {
    std::printf("replayed %s to %s (%s, parked by the %s stage: %s)\n", d->id.c_str(),
                d->source_topic.c_str(), ItemOf(*d).first.c_str(), d->stage.c_str(),
                d->error.c_str());
  }
  return kExitOk;
}

}  // namespace

int Dlq(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::fputs(kDlqUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string sub = args[0];
  if (sub != "list" && sub != "replay") {
    std::fprintf(stderr, "zarc dlq: unknown subcommand \"%s\"; say list or replay\n%s", sub.c_str(),
                 kDlqUsage);
    return kExitUsage;
  }
  // --id may be given many times; ParseFlags keeps one value per flag, so take them out first.
  std::set<std::string> ids;
  std::vector<std::string> rest;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string value;
    if (args[i] == "--id" && i + 1 < args.size()) {
      value = args[++i];
    } else if (absl::StartsWith(args[i], "--id=")) {
      value = args[i].substr(5);
    } else {
      rest.push_back(args[i]);
      continue;
    }
    for (absl::string_view id : absl::StrSplit(value, ',', absl::SkipEmpty())) ids.emplace(id);
  }
  auto flags = ParseFlags(
      rest,
      {{"brokers", true}, {"all", false}, {"format", true}, {"again", false}, {"help", false}});
  if (!flags.ok()) {
    std::fprintf(stderr, "zarc dlq %s: %s\n%s", sub.c_str(),
                 std::string(flags.status().message()).c_str(), kDlqUsage);
    return kExitUsage;
  }
  if (flags->count("help")) {
    std::fputs(kDlqUsage, stdout);
    return kExitOk;
  }
  std::string brokers = flags->count("brokers") ? (*flags)["brokers"] : "";
  if (brokers.empty()) {
    if (const char* env = std::getenv("ZARC_KAFKA_BROKERS")) brokers = env;
  }
  if (brokers.empty()) {
    std::fprintf(stderr, "zarc dlq: say where Kafka is: --brokers or ZARC_KAFKA_BROKERS\n%s",
                 kDlqUsage);
    return kExitUsage;
  }
  kafka::KafkaConfig config;
  config.bootstrap_servers = brokers;
  config.client_id = "zarc-dlq";
  const bool all = flags->count("all") > 0;
  if (sub == "list") {
    if (!ids.empty() || flags->count("again")) {
      std::fprintf(stderr, "zarc dlq list: --id and --again go with replay\n");
      return kExitUsage;
    }
    const std::string format = flags->count("format") ? (*flags)["format"] : "table";
    if (format != "table" && format != "json") {
      std::fprintf(stderr, "zarc dlq list: --format %s is not one of table, json\n",
                   format.c_str());
      return kExitUsage;
    }
    return List(config, all, format);
  }
  if (flags->count("format")) {
    std::fprintf(stderr, "zarc dlq replay: --format goes with list\n");
    return kExitUsage;
  }
  if (all == !ids.empty()) {
    std::fprintf(stderr, "zarc dlq replay: give --id ID (one or more) or --all, not %s\n%s",
                 all ? "both" : "neither", kDlqUsage);
    return kExitUsage;
  }
  return Replay(config, ids, all, flags->count("again") > 0);
}

}  // namespace zarc::cli
