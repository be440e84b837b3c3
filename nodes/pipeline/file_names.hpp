/// @file pipeline/file_names.hpp
/// Where the library's nodes read and write files: input files named by a widget (found as given
/// or in the input folder) and numbered output files that never replace an existing one.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <diffgraph/node_spec.hpp>

namespace diffgraph::nodes {

/// The input folder: the setting "input_dir", or "input" (relative to the working directory).
std::filesystem::path input_folder(const Environment& environment);

/// The file a widget names: the path as given (absolute, or relative to the working directory)
/// when it exists, else the same path inside input_folder(). Throws NodeError naming `what`
/// ("image", "latent"), the text and every place looked when neither exists.
std::filesystem::path resolve_input_file(const std::string& name, const Environment& environment,
                                         std::string_view what);

/// The fingerprint of the file named by the node's literal input `input_name` (resolved as
/// resolve_input_file does), so a loader re-runs when the file changes. `what` names it in errors.
FingerprintFn input_file_fingerprint(std::string input_name, std::string what);

/// Regular files directly in input_folder() whose extension (lower case, with the dot) is one
/// of `extensions`, sorted: the choices an editor offers for a file widget.
std::vector<std::string> list_input_files(const Environment& environment,
                                          const std::vector<std::string>& extensions);

/// Numbered output files "<folder>/<stem>_00001_<suffix>", as ComfyUI names them. The prefix may
/// hold sub-folders ("latents/diffgraph"); it must stay inside the folder (no "..", not
/// absolute). Numbering continues after the highest number already present, and each name is
/// claimed by creating it with O_EXCL, so neither another run nor another process can be given
/// the same file: nothing is ever overwritten.
class NumberedOutputFiles {
 public:
  /// Checks the prefix (NodeError naming filename_prefix), creates the folders and scans for
  /// the highest number in use.
  NumberedOutputFiles(const std::filesystem::path& folder, const std::string& prefix);

  /// Claims the next free name ending in `suffix` (e.g. "_.png") and returns it; the file
  /// exists, empty, until the caller fills it (see write_file_atomically).
  std::filesystem::path claim(std::string_view suffix);

  const std::filesystem::path& folder() const { return folder_; }

 private:
  std::filesystem::path folder_;
  std::string stem_;
  long next_ = 1;
};

/// Fills `path` with what `write` writes to the temporary path it is given (beside `path`),
/// then renames the temporary over `path`, so a reader never sees a half-written file. On any
/// failure the temporary is removed and the error propagates.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const std::filesystem::path& temporary)>& write);

}  // namespace diffgraph::nodes
