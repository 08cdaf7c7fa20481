#pragma once

// A fake HTTP peer for fuzz targets: every request gets the next answer of a script taken from
// the fuzz input, on a fake clock, and every request is checked for where it sends credentials.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "runtime/http/http_client.h"
#include "runtime/testing/fuzz/fuzz_support.h"

namespace zarc::fuzz {

// Time that moves only when the code under test sleeps (and by a second per request), so retry
// loops end at their deadlines without real waiting.
class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Sleep(absl::Duration d) {
    Require(d >= absl::ZeroDuration() && d <= absl::Hours(1), "a retry wait is bounded");
    now_ += d;
  }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

// The script: answers separated by lines "%%" (SplitParts). An answer is a status line ("429"),
// header lines ("Retry-After: 2") up to an empty line, then the body; an answer whose first line is
// not a status code is a 200 with the whole part as its body. Once the script is used up every
// request fails as a transport failure (UNAVAILABLE).
class ScriptedHttp final : public http::HttpClient {
 public:
  // `authorized_prefixes`: the only URL prefixes ("https://host/") a request carrying
  // Authorization may go to, compared ignoring case.
  ScriptedHttp(absl::string_view script, std::vector<std::string> authorized_prefixes,
               FakeClock& clock)
      : authorized_prefixes_(std::move(authorized_prefixes)), clock_(clock) {
    for (absl::string_view part : SplitParts(script)) answers_.push_back(ParseAnswer(part));
  }

  absl::StatusOr<http::ClientResponse> Send(const http::ClientRequest& request) override {
    Check(request);
    if (next_ >= answers_.size()) return absl::UnavailableError("fuzz script used up");
    return answers_[next_++];
  }

  absl::StatusOr<http::ClientResponse> SendStreaming(const http::ClientRequest& request,
                                                     io::ByteSink& sink) override {
    absl::StatusOr<http::ClientResponse> r = Send(request);
    if (!r.ok() || r->status < 200 || r->status > 299) return r;
    if (absl::Status s = sink.Write(r->body); !s.ok()) return s;
    r->body.clear();
    return r;
  }

  size_t requests() const { return requests_; }

 private:
  static http::ClientResponse ParseAnswer(absl::string_view part) {
    http::ClientResponse r;
    r.status = 200;
    const size_t eol = part.find('\n');
    int status = 0;
    if (!absl::SimpleAtoi(part.substr(0, eol), &status) || status < 100 || status > 599) {
      r.body = std::string(part);
      return r;
    }
    r.status = status;
    absl::string_view rest = eol == absl::string_view::npos ? "" : part.substr(eol + 1);
    while (!rest.empty()) {
      const size_t end = rest.find('\n');
      const absl::string_view line = rest.substr(0, end);
      rest = end == absl::string_view::npos ? "" : rest.substr(end + 1);
      const size_t colon = line.find(':');
      if (line.empty() || colon == absl::string_view::npos) break;
      r.headers.push_back({std::string(line.substr(0, colon)),
                           std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)))});
    }
    r.body = std::string(rest);
    return r;
  }

  void Check(const http::ClientRequest& request) {
    Require(++requests_ <= 10'000, "a call ends after a bounded number of requests");
    clock_.Sleep(absl::Seconds(1));
    for (const auto& [name, value] : request.headers) {
      if (!absl::EqualsIgnoreCase(name, "Authorization")) continue;
      // Where the request really goes once the server resolves "." and ".." segments (ids from
      // answers are put into paths) must still be under an allowed prefix.
      const std::string target = ResolveDotSegments(request.url);
      bool allowed = false;
      for (const std::string& prefix : authorized_prefixes_) {
        allowed = allowed || absl::StartsWithIgnoreCase(target, prefix);  // scheme, host
      }
      Require(allowed, "a credential goes only to the configured service");
    }
  }

  // scheme://authority/a/./b/../c?q -> scheme://authority/a/c?q (RFC 3986 section 5.2.4); an
  // empty path is "/" (https://host?q is https://host/?q).
  static std::string ResolveDotSegments(absl::string_view url) {
    const size_t scheme = url.find("://");
    if (scheme == absl::string_view::npos) return std::string(url);
    size_t path_start = url.find_first_of("/?#", scheme + 3);
    if (path_start == absl::string_view::npos) return absl::StrCat(url, "/");
    const absl::string_view origin = url.substr(0, path_start);
    absl::string_view rest = url.substr(path_start);
    const size_t query = rest.find_first_of("?#");
    const absl::string_view path = rest.substr(0, query);
    const absl::string_view tail = query == absl::string_view::npos ? "" : rest.substr(query);
    std::vector<absl::string_view> out;
    std::vector<absl::string_view> segments =
        absl::StrSplit(path.empty() ? absl::string_view() : path.substr(1), '/');
    for (size_t i = 0; i < segments.size(); ++i) {
      const bool last = i + 1 == segments.size();
      if (segments[i] == ".") {
        if (last) out.push_back("");
      } else if (segments[i] == "..") {
        if (!out.empty()) out.pop_back();
        if (last) out.push_back("");
      } else {
        out.push_back(segments[i]);
      }
    }
    return absl::StrCat(origin, "/", absl::StrJoin(out, "/"), tail);
  }

  std::vector<http::ClientResponse> answers_;
  size_t next_ = 0;
  size_t requests_ = 0;
  const std::vector<std::string> authorized_prefixes_;
  FakeClock& clock_;
};

}  // namespace zarc::fuzz
