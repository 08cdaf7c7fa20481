#include "simulators/graph/odata_filter.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace zarc::graph_sim {
namespace {

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<FilterTerm>> Parse() {
    std::vector<FilterTerm> terms;
    while (true) {
      absl::StatusOr<FilterTerm> term = Term();
      if (!term.ok()) return term.status();
      terms.push_back(*std::move(term));
      SkipSpace();
      if (pos_ == text_.size()) return terms;
      if (!Keyword("or")) return Error("expected 'or' or the end of the filter");
    }
  }

 private:
  absl::StatusOr<FilterTerm> Term() {
    SkipSpace();
    FilterTerm term;
    term.property = Identifier();
    if (term.property.empty()) return Error("expected a property name");
    if (Peek('/')) {
      ++pos_;
      if (!Literal("any(")) return Error("only the any() lambda is supported after '/'");
      const std::string var = Identifier();
      if (var.empty() || !Literal(":")) return Error("expected 'p:' in any()");
      SkipSpace();
      if (Identifier() != var) return Error("the lambda must compare its variable");
      term.any = true;
    }
    if (!Keyword("eq")) return Error("only 'eq' comparisons are supported");
    SkipSpace();
    absl::StatusOr<std::string> value = StringLiteral();
    if (!value.ok()) return value.status();
    term.value = *std::move(value);
    if (term.any) {
      SkipSpace();
      if (!Literal(")")) return Error("expected ')' closing any()");
    }
    return term;
  }

  absl::StatusOr<std::string> StringLiteral() {
    if (!Peek('\'')) return Error("expected a quoted string");
    ++pos_;
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c != '\'') {
        out.push_back(c);
        continue;
      }
      if (Peek('\'')) {  // '' is one quote
        out.push_back('\'');
        ++pos_;
        continue;
      }
      return out;
    }
    return Error("unterminated string literal");
  }

  std::string Identifier() {
    SkipSpace();
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  bool Keyword(absl::string_view word) {
    SkipSpace();
    if (!absl::StartsWithIgnoreCase(text_.substr(pos_), word)) return false;
    const size_t end = pos_ + word.size();
    if (end < text_.size() && !std::isspace(static_cast<unsigned char>(text_[end]))) return false;
    pos_ = end;
    return true;
  }

  bool Literal(absl::string_view s) {
    SkipSpace();
    if (!absl::StartsWith(text_.substr(pos_), s)) return false;
    pos_ += s.size();
    return true;
  }

  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("unsupported $filter at character ", pos_, ": ",
                                                   what, " (filter: ", text_, ")"));
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<FilterTerm>> ParseFilter(absl::string_view filter) {
  return Parser(filter).Parse();
}

std::string QuoteODataString(absl::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace zarc::graph_sim
