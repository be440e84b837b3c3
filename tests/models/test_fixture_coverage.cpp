// test_fixture_coverage.cpp — which cases of the fixture folder the suite checks.
//
// Lists, once each, every kind of index.json that no fixture test handles yet
// (`fixture kind lora: not handled`) and every variant of a handled kind that none handles
// (`fixture kind unet/sdxl: not handled`): reported, not failed, so a fixture folder ahead of
// the code keeps CI green while the cases it can check are checked (their `fixture <id>: ok`
// lines come from the test programs named in handled_fixture_variants()). Also checks that the
// index is one the tests can iterate: unique ids, configs and files that exist, pointers that
// resolve, counts that match.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>
#include <string>

#include "support/fixtures.hpp"

namespace {

namespace dt = diffgraph::testing;
using nlohmann::json;

TEST(FixtureCoverage, ListsKindsAndVariantsNoTestHandles) {
  const json index = dt::read_json_file(dt::fixtures_dir() / "index.json");
  std::map<std::string, std::map<std::string, int>> present;  // kind → variant → cases
  for (const auto& entry : index.at("cases")) ++present[entry.at("kind").get<std::string>()][dt::fixture_variant(entry)];

  int handled_cases = 0, unhandled_cases = 0;
  for (const auto& [kind, variants] : present) {
    const auto& handled = dt::handled_fixture_variants();
    const bool kind_handled = handled.count(kind) > 0;
    for (const auto& [variant, count] : variants) {
      if (dt::fixture_variant_handled(kind, variant)) {
        handled_cases += count;
        continue;
      }
      unhandled_cases += count;
      if (kind_handled) std::cout << "fixture kind " << kind << "/" << variant << ": not handled\n";
    }
    if (!kind_handled) std::cout << "fixture kind " << kind << ": not handled\n";
  }
  std::cout << handled_cases << " cases of handled kinds and variants, " << unhandled_cases << " not handled\n";
  EXPECT_EQ(handled_cases + unhandled_cases, static_cast<int>(index.at("cases").size()));
}

TEST(FixtureCoverage, IndexIsIterable) {
  const json index = dt::read_json_file(dt::fixtures_dir() / "index.json");
  ASSERT_TRUE(index.at("cases").is_array());
  std::set<std::string> ids;
  std::map<std::string, int> counts;
  for (const auto& entry : index.at("cases")) {
    const std::string id = entry.at("id");
    SCOPED_TRACE(id);
    EXPECT_TRUE(ids.insert(id).second) << "duplicate case id";
    ++counts[entry.at("kind").get<std::string>()];
    const json config = dt::read_json_file(dt::fixtures_dir() / entry.at("config").get<std::string>());
    EXPECT_TRUE(config.contains(json::json_pointer(entry.at("config_pointer").get<std::string>())))
        << "config_pointer " << entry.at("config_pointer") << " does not resolve";
    for (const auto& [role, file] : entry.at("files").items())
      EXPECT_TRUE(std::filesystem::exists(dt::fixtures_dir() / file.get<std::string>())) << role << ": " << file;
    const json outputs = entry.value("outputs", json::object());
    for (const auto& [name, pointer] : outputs.items()) {
      if (pointer.is_null()) continue;
      const json::json_pointer p(pointer.get<std::string>());
      EXPECT_TRUE(config.contains(p) && config.at(p).is_number()) << "tolerance of " << name << ": " << pointer;
    }
    if (entry.contains("inputs")) {
      for (const auto& [name, role] : entry.at("inputs").items())
        EXPECT_TRUE(entry.at("files").contains(role.get<std::string>())) << "input " << name << " names role " << role;
    }
  }
  if (index.contains("counts")) {
    for (const auto& [kind, count] : index.at("counts").items()) EXPECT_EQ(counts[kind], count.get<int>()) << kind;
  }
}

TEST(FixtureCoverage, HandledCasesAreSelected) {
  // fixture_cases(kind) returns exactly the cases of the kind whose variant is handled.
  const json index = dt::read_json_file(dt::fixtures_dir() / "index.json");
  for (const auto& [kind, variants] : dt::handled_fixture_variants()) {
    std::set<std::string> expected, selected;
    for (const auto& entry : index.at("cases"))
      if (entry.at("kind") == kind && variants.count(dt::fixture_variant(entry))) expected.insert(entry.at("id"));
    for (const auto& c : dt::fixture_cases(kind)) selected.insert(c.id());
    EXPECT_EQ(selected, expected) << kind;
  }
}

}  // namespace
