#include "runtime/build_info/build_info.h"

#include "absl/strings/str_cat.h"
#include "build_info_values.h"

namespace zarc {

const BuildInfo& GetBuildInfo() {
  static const BuildInfo info{ZARC_BUILD_VERSION, ZARC_BUILD_GIT_SHA, ZARC_BUILD_DATE};
  return info;
}

std::string VersionLine(absl::string_view program) {
  const BuildInfo& info = GetBuildInfo();
  return absl::StrCat(program, " ", info.version, "\ngit commit: ", info.git_sha,
                      "\nbuild date: ", info.date, "\n");
}

}  // namespace zarc
