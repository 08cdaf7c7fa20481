#include "runtime/blob/random_id.h"

#include <random>

#include "absl/base/const_init.h"
#include "absl/synchronization/mutex.h"

namespace zarc::blob {

std::string RandomHex(size_t bytes) {
  static absl::Mutex mu(absl::kConstInit);
  static std::random_device* device = new std::random_device();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  absl::MutexLock lock(&mu);
  for (size_t i = 0; i < bytes; ++i) {
    const unsigned value = (*device)() & 0xFF;
    out.push_back(kHex[value >> 4]);
    out.push_back(kHex[value & 0xF]);
  }
  return out;
}

}  // namespace zarc::blob
