#include "signature.hpp"

#include <cstring>

namespace diffgraph {

namespace {
constexpr std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
constexpr std::uint64_t avalanche(std::uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}
}  // namespace

void SignatureHasher::mix(std::uint64_t word) {
  a_ = rotl(a_ ^ (word * 0x87c37b91114253d5ull), 31) * 0x4cf5ad432745937full;
  b_ = rotl(b_ + (word ^ 0x52dce729da3ed9b1ull), 27) * 0xff51afd7ed558ccdull + a_;
  ++length_;
}

void SignatureHasher::add_bytes(std::string_view bytes) {
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    mix(word);
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  mix(tail ^ (static_cast<std::uint64_t>(bytes.size() - i) << 56));
}

void SignatureHasher::add_string(std::string_view text) {
  add_u64(text.size());
  add_bytes(text);
}

void SignatureHasher::add_u64(std::uint64_t value) { mix(value); }

void SignatureHasher::add(const Signature& signature) {
  mix(signature.high);
  mix(signature.low);
}

Signature SignatureHasher::finish() const {
  return {avalanche(a_ ^ length_), avalanche(b_ + rotl(a_, 17))};
}

std::string Signature::hex() const {
  static const char* digits = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = digits[(high >> (4 * i)) & 15];
    out[31 - i] = digits[(low >> (4 * i)) & 15];
  }
  return out;
}

}  // namespace diffgraph
