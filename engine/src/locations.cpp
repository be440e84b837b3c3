#include "diffgraph/locations.hpp"

#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/dll/runtime_symbol_info.hpp>

namespace diffgraph {

namespace {

namespace fs = std::filesystem;

// The folder of libdiffgraph.so (this code's library), empty if the platform cannot say.
fs::path engine_library_folder() {
  boost::system::error_code ec;
  const auto self = boost::dll::this_line_location(ec);
  if (ec) return {};
  return fs::path(self.string()).parent_path();
}

fs::path beside_engine(const fs::path& relative) {
  const fs::path folder = engine_library_folder();
  return folder.empty() ? fs::path() : (folder / relative).lexically_normal();
}

// The entries of a ':'-separated environment variable, empty ones skipped.
void append_environment_list(const char* variable, std::vector<fs::path>& out) {
  const char* value = std::getenv(variable);
  if (value == nullptr) return;
  std::string_view rest(value);
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    if (colon != 0) out.emplace_back(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
}

std::vector<fs::path> without_duplicates(const std::vector<fs::path>& paths) {
  std::vector<fs::path> unique;
  std::set<fs::path> seen;
  for (const auto& path : paths) {
    if (path.empty()) continue;
    std::error_code ec;
    auto canonical = fs::weakly_canonical(path, ec);
    if (ec) canonical = path;
    if (seen.insert(canonical).second) unique.push_back(canonical);
  }
  return unique;
}

}  // namespace

fs::path installed_plugin_folder() { return beside_engine(DIFFGRAPH_LIB_TO_PLUGINS); }

fs::path installed_data_folder() { return beside_engine(DIFFGRAPH_LIB_TO_DATA); }

std::vector<fs::path> plugin_search_path(const std::vector<fs::path>& extra) {
  std::vector<fs::path> dirs = extra;
  append_environment_list("DIFFGRAPH_PLUGIN_PATH", dirs);
  dirs.push_back(installed_plugin_folder());
  return without_duplicates(dirs);
}

std::vector<fs::path> model_search_path(const std::vector<fs::path>& extra) {
  std::vector<fs::path> dirs = extra;
  append_environment_list("DIFFGRAPH_MODELS", dirs);
  dirs.emplace_back("models");
  return dirs;
}

fs::path default_model_folder() { return installed_data_folder() / "models"; }

std::vector<fs::path> data_search_path() {
  std::vector<fs::path> dirs;
  if (const char* data_dir = std::getenv("DIFFGRAPH_DATA_DIR"); data_dir != nullptr && *data_dir != '\0')
    dirs.emplace_back(data_dir);
  dirs.push_back(installed_data_folder());
  return without_duplicates(dirs);
}

fs::path find_data_file(const fs::path& relative) {
  std::string searched;
  for (const auto& folder : data_search_path()) {
    const fs::path candidate = folder / relative;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate;
    searched += "\n  " + candidate.string();
  }
  throw std::runtime_error("cannot find diffgraph's data file " + relative.string() +
                           " (set DIFFGRAPH_DATA_DIR to the folder holding it); searched:" + searched);
}

}  // namespace diffgraph
