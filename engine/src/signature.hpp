// A streaming 128-bit hash for input signatures. Not cryptographic: signatures only need to
// tell apart the inputs a user's graphs produce, and two independent 64-bit lanes make an
// accidental collision vanishingly unlikely.
#pragma once

#include <cstdint>
#include <string_view>

#include "diffgraph/output_cache.hpp"

namespace diffgraph {

class SignatureHasher {
 public:
  void add_bytes(std::string_view bytes);
  /// Adds a length-prefixed string, so ("ab","c") and ("a","bc") differ.
  void add_string(std::string_view text);
  void add_u64(std::uint64_t value);
  void add(const Signature& signature);
  Signature finish() const;

 private:
  void mix(std::uint64_t word);
  std::uint64_t a_ = 0x9e3779b97f4a7c15ull;
  std::uint64_t b_ = 0xc2b2ae3d27d4eb4full;
  std::uint64_t length_ = 0;
};

}  // namespace diffgraph
