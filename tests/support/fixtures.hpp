// fixtures.hpp — iterate the golden-fixture cases of ../shared/fixtures/index.json.
//
// The folder comes from DIFFGRAPH_FIXTURES (default ../shared/fixtures, relative to the
// working directory, which ctest sets to the source root). Every case listed with a kind is
// returned, so a new case in the same layout needs no code change.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace diffgraph::testing {

inline std::filesystem::path fixtures_dir() {
  const char* env = std::getenv("DIFFGRAPH_FIXTURES");
  return std::filesystem::path(env && *env ? env : "../shared/fixtures");
}

inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

/// One case of index.json with its config resolved.
struct FixtureCase {
  nlohmann::json entry;   // the index.json entry
  nlohmann::json config;  // the whole config file the case points into
  nlohmann::json params;  // config at the case's config_pointer

  std::string id() const { return entry.at("id"); }
  std::string kind() const { return entry.at("kind"); }
  std::string name() const { return entry.at("name"); }
  /// Absolute path of the file with role `role` in the case's `files`.
  std::filesystem::path file(std::string_view role) const {
    return fixtures_dir() / entry.at("files").at(std::string(role)).get<std::string>();
  }
  /// Path of any file relative to the fixtures folder.
  static std::filesystem::path path(std::string_view relative) { return fixtures_dir() / relative; }
  /// The recommended absolute tolerance for expected output `output` (0 when null: exact).
  double atol(const std::string& output) const {
    const auto& pointer = entry.at("outputs").at(output);
    if (pointer.is_null()) return 0.0;
    return config.at(nlohmann::json::json_pointer(pointer.get<std::string>())).get<double>();
  }
  /// Names of the expected outputs.
  std::vector<std::string> outputs() const {
    std::vector<std::string> names;
    for (const auto& [name, _] : entry.at("outputs").items()) names.push_back(name);
    return names;
  }
};

/// All cases of the given kind (every case when `kind` is empty).
inline std::vector<FixtureCase> fixture_cases(std::string_view kind) {
  const auto index = read_json_file(fixtures_dir() / "index.json");
  std::vector<FixtureCase> cases;
  for (const auto& entry : index.at("cases")) {
    if (!kind.empty() && entry.at("kind").get<std::string>() != kind) continue;
    FixtureCase c;
    c.entry = entry;
    c.config = read_json_file(fixtures_dir() / entry.at("config").get<std::string>());
    c.params = c.config.at(nlohmann::json::json_pointer(entry.at("config_pointer").get<std::string>()));
    cases.push_back(std::move(c));
  }
  return cases;
}

/// A gtest-safe name for a case id ("sampling/euler_karras" → "sampling_euler_karras").
inline std::string case_test_name(const std::string& id) {
  std::string out;
  for (char ch : id) out += (std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
  return out;
}

/// The index.json top-level "data" entry (clip vocab paths), resolved to absolute paths.
inline std::filesystem::path fixture_data_path(std::string_view key) {
  const auto index = read_json_file(fixtures_dir() / "index.json");
  return fixtures_dir() / index.at("data").at(std::string(key)).get<std::string>();
}

}  // namespace diffgraph::testing
