#include <gtest/gtest.h>

#include <diffgraph/output_cache.hpp>

using namespace diffgraph;

namespace {

class Blob final : public Value {
 public:
  explicit Blob(std::size_t bytes) : bytes_(bytes) {}
  std::string_view type() const override { return "BLOB"; }
  std::size_t byte_size() const override { return bytes_; }
  std::string summary() const override { return "blob"; }

 private:
  std::size_t bytes_;
};

CachedOutputs blob(std::size_t bytes) {
  CachedOutputs outputs;
  outputs.values["x"] = make_value<Blob>(bytes);
  return outputs;
}

}  // namespace

TEST(OutputCache, EvictsLeastRecentlyUsedOverBudget) {
  OutputCache cache(10'000);
  cache.insert({0, 1}, blob(4000));
  cache.insert({0, 2}, blob(4000));
  ASSERT_TRUE(cache.find({0, 1}));  // 1 is now the most recent
  cache.insert({0, 3}, blob(4000));
  EXPECT_TRUE(cache.find({0, 1}));
  EXPECT_FALSE(cache.find({0, 2}));
  EXPECT_TRUE(cache.find({0, 3}));
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_LE(cache.bytes(), cache.budget());
}

TEST(OutputCache, AnEntryLargerThanTheBudgetIsNotKept) {
  OutputCache cache(1000);
  cache.insert({1, 1}, blob(5000));
  EXPECT_FALSE(cache.find({1, 1}));
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(OutputCache, ShrinkingTheBudgetEvicts) {
  OutputCache cache(100'000);
  for (std::uint64_t i = 0; i < 10; ++i) cache.insert({i, i}, blob(5000));
  cache.set_budget(12'000);
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_TRUE(cache.find({9, 9}));
  cache.clear();
  EXPECT_EQ(cache.entries(), 0u);
}
