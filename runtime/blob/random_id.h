#pragma once

#include <cstddef>
#include <string>

namespace zarc::blob {

// `bytes` random bytes from the OS as lowercase hex, for temporary names and block-ID prefixes
// (unique, not secret). Thread-safe.
std::string RandomHex(size_t bytes);

}  // namespace zarc::blob
