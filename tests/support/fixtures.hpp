// fixtures.hpp — iterate the golden-fixture cases of ../shared/fixtures/index.json and report
// each one checked.
//
// The folder comes from DIFFGRAPH_FIXTURES (default ../shared/fixtures, relative to the
// working directory, which ctest sets to the source root). Every case of a handled kind and
// variant is returned, so a new case in the same layout needs no code change. Another folder in
// the same layout may hold other cases, so no case is skipped silently: every test that checks
// a case prints `fixture <id>: ok` or `fixture <id>: FAIL <why>` (CaseReport, case_report.hpp),
// and the coverage
// test lists each kind or variant of index.json that no test handles yet
// (`fixture kind unet/sdxl: not handled`, see handled_fixture_variants()).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
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

/// The variant of an index entry: its `variant`, else its `architecture` (checkpoint, manifest,
/// sdxl_adm), else "" (kinds without variants, and the SD1 checkpoints).
inline std::string fixture_variant(const nlohmann::json& entry) {
  if (entry.contains("variant")) return entry.at("variant").get<std::string>();
  if (entry.contains("architecture")) return entry.at("architecture").get<std::string>();
  return "";
}

/// What the fixture tests of this tree check: kind → the variants handled ("" = cases without a
/// variant). The one table for the whole suite: fixture_cases() returns only these cases, and the
/// coverage test (tests/models/test_fixture_coverage.cpp) reports every other kind and variant
/// of index.json as not handled. A kind or variant goes in here with the test that checks it.
inline const std::map<std::string, std::set<std::string>>& handled_fixture_variants() {
  static const std::map<std::string, std::set<std::string>> handled = {
      {"tokenizer", {"clip_l", "open_clip_g"}},          // test_tokenizer_fixture
      {"clip_text", {"clip_l", "open_clip_g"}},          // test_clip_vae_fixture
      {"vae", {""}},                                     // test_clip_vae_fixture
      {"checkpoint", {"", "sdxl_base", "sdxl_refiner"}},  // test_clip_vae_fixture
      {"manifest", {"sd15", "sd21", "sdxl_base", "sdxl_refiner"}},  // test_clip_vae_fixture
      {"unet", {"sd1_conv_proj", "sd2_linear_proj", "sdxl", "sdxl_refiner"}},  // test_unet_fixture
      {"sdxl_adm", {"sdxl_base", "sdxl_refiner"}},       // test_unet_fixture
      {"schedule", {""}},                                // sampling_fixture_tests
      {"sampling", {""}},                                // sampling_fixture_tests
      {"ddim", {""}},                                    // sampling_fixture_tests
      {"noise", {""}},                                   // sampling_fixture_tests
      {"pipeline_txt2img", {"sd1", "sdxl"}},             // sampling_fixture_tests
      {"pipeline_img2img", {"sd1"}},                     // sampling_fixture_tests
  };
  return handled;
}

inline bool fixture_variant_handled(const std::string& kind, const std::string& variant) {
  const auto& handled = handled_fixture_variants();
  const auto found = handled.find(kind);
  return found != handled.end() && found->second.count(variant) > 0;
}

/// The handled cases of the given kind (every case of index.json, handled or not, when `kind`
/// is empty).
inline std::vector<FixtureCase> fixture_cases(std::string_view kind) {
  const auto index = read_json_file(fixtures_dir() / "index.json");
  std::vector<FixtureCase> cases;
  for (const auto& entry : index.at("cases")) {
    if (!kind.empty() && entry.at("kind").get<std::string>() != kind) continue;
    if (!kind.empty() && !fixture_variant_handled(std::string(kind), fixture_variant(entry))) continue;
    FixtureCase c;
    c.entry = entry;
    c.config = read_json_file(fixtures_dir() / entry.at("config").get<std::string>());
    c.params = c.config.at(nlohmann::json::json_pointer(entry.at("config_pointer").get<std::string>()));
    cases.push_back(std::move(c));
  }
  return cases;
}

/// A component config of the fixtures as a config file would write it: the SDXL fixtures describe
/// the activation in words ("gelu (exact erf)", README §12.1), which config files call "gelu".
inline nlohmann::json fixture_model_config(nlohmann::json config) {
  if (config.contains("hidden_act") && config.at("hidden_act").is_string() &&
      config.at("hidden_act").get<std::string>().starts_with("gelu ("))
    config["hidden_act"] = "gelu";
  return config;
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
