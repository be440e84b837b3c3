#include "diffgraph/output_cache.hpp"

namespace diffgraph {

std::size_t CachedOutputs::byte_size() const {
  std::size_t total = sizeof(*this);
  for (const auto& [name, value] : values) total += name.size() + (value ? value->byte_size() : 0);
  return total;
}

OutputCache::OutputCache(std::size_t budget_bytes) : budget_(budget_bytes) {}

std::optional<CachedOutputs> OutputCache::find(const Signature& signature) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(signature);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->outputs;
}

void OutputCache::insert(const Signature& signature, CachedOutputs outputs) {
  std::lock_guard lock(mutex_);
  const std::size_t size = outputs.byte_size();
  if (auto it = index_.find(signature); it != index_.end()) {
    bytes_ -= it->second->bytes;
    lru_.erase(it->second);
    index_.erase(it);
  }
  if (size > budget_) return;
  lru_.push_front(Entry{signature, std::move(outputs), size});
  index_[signature] = lru_.begin();
  bytes_ += size;
  evict_over_budget();
}

void OutputCache::evict_over_budget() {
  while (bytes_ > budget_ && !lru_.empty()) {
    bytes_ -= lru_.back().bytes;
    index_.erase(lru_.back().signature);
    lru_.pop_back();
  }
}

void OutputCache::clear() {
  std::lock_guard lock(mutex_);
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

void OutputCache::set_budget(std::size_t budget_bytes) {
  std::lock_guard lock(mutex_);
  budget_ = budget_bytes;
  evict_over_budget();
}

std::size_t OutputCache::budget() const {
  std::lock_guard lock(mutex_);
  return budget_;
}
std::size_t OutputCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}
std::size_t OutputCache::entries() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace diffgraph
