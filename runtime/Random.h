//===- Random.h - A portable seeded random number generator -----*- C++ -*-===//
//
// xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/), seeded with
// splitmix64, and uniform doubles built from its bits. Everything here is
// exact integer arithmetic plus one exact scaling by 2^-53, so a seed gives
// the same numbers with every compiler, standard library and CPU; the
// <random> distributions (std::uniform_real_distribution and friends) do not
// promise that, so samplers that must reproduce a run use this instead.
//
// libstdc++ only: this file is part of the runtime, which has no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_RANDOM_H
#define NIBBLE_RUNTIME_RANDOM_H

#include <cstdint>

namespace nibble::runtime {

/// splitmix64 (Steele, Lea and Flood): advances `state` and returns the next
/// 64-bit output. Used to spread one seed over xoshiro's 256-bit state.
inline uint64_t splitMix64(uint64_t &state) {
  state += 0x9e3779b97f4a7c15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// The xoshiro256** generator: 256 bits of state, period 2^256 - 1.
class Xoshiro256StarStar {
public:
  /// Seeds the state with four consecutive splitmix64 outputs of `seed`
  /// (the seeding the algorithm's authors recommend; never all zero).
  explicit Xoshiro256StarStar(uint64_t seed = 0) { reseed(seed); }

  /// Restarts the sequence from `seed`.
  void reseed(uint64_t seed) {
    uint64_t mix = seed;
    for (uint64_t &word : state)
      word = splitMix64(mix);
  }

  /// Sets the raw state (not all zero), e.g. to check the reference outputs.
  void setState(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3) {
    state[0] = s0;
    state[1] = s1;
    state[2] = s2;
    state[3] = s3;
  }

  /// The next 64 random bits.
  uint64_t next() {
    uint64_t result = rotateLeft(state[1] * 5, 7) * 9;
    uint64_t shifted = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= shifted;
    state[3] = rotateLeft(state[3], 45);
    return result;
  }

  /// A uniform double in [0, 1): the top 53 bits of next() times 2^-53, so
  /// every multiple of 2^-53 in the range is equally likely.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  static uint64_t rotateLeft(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }

  uint64_t state[4];
};

} // namespace nibble::runtime

#endif // NIBBLE_RUNTIME_RANDOM_H
