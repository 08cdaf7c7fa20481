#pragma once

#include <cstdint>

namespace zarc::zoom_sim {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same on every platform and standard
// library, which std::*_distribution is not. Determinism of generated tenants depends on it.
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Not thread-safe; one per generating thread.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return SplitMix64(state_);
  }
  // Uniform in [0, n); n == 0 gives 0. The tiny modulo bias does not matter for a simulator.
  uint64_t Uniform(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t state_;
};

}  // namespace zarc::zoom_sim
