/// @file output_cache.hpp
/// The executor's store of node outputs: least-recently-used entries go first when the byte
/// budget is exceeded. Thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "value.hpp"

namespace diffgraph {

/// A 128-bit input signature.
struct Signature {
  std::uint64_t high = 0, low = 0;
  bool operator==(const Signature&) const = default;
  std::string hex() const;
};

/// Everything one node execution produced.
struct CachedOutputs {
  std::map<std::string, ValuePtr> values;         ///< by output name
  std::vector<nlohmann::json> results;            ///< what the node recorded with add_result
  std::vector<std::string> warnings;
  std::size_t byte_size() const;
};

class OutputCache {
 public:
  explicit OutputCache(std::size_t budget_bytes);

  /// The entry for `signature`, marking it most recently used.
  std::optional<CachedOutputs> find(const Signature& signature);
  /// Stores an entry, then evicts least-recently-used entries while over budget. An entry
  /// larger than the whole budget is not kept.
  void insert(const Signature& signature, CachedOutputs outputs);
  void clear();
  void set_budget(std::size_t budget_bytes);

  std::size_t budget() const;
  std::size_t bytes() const;    ///< sum of the entries' byte sizes
  std::size_t entries() const;

 private:
  struct SignatureHash {
    std::size_t operator()(const Signature& s) const noexcept { return s.low ^ (s.high * 31); }
  };
  struct Entry {
    Signature signature;
    CachedOutputs outputs;
    std::size_t bytes;
  };
  void evict_over_budget();

  mutable std::mutex mutex_;
  std::size_t budget_;
  std::size_t bytes_ = 0;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<Signature, std::list<Entry>::iterator, SignatureHash> index_;
};

}  // namespace diffgraph
