/// @file locations.hpp
/// Where diffgraph's files are: plugins, model files and diffgraph's own data (the CLIP
/// vocabulary, the embedded default model), answered in one place for the front ends, the
/// plugins and the libraries.
///
/// Installed files are found relative to the engine library (libdiffgraph.so) itself, so an
/// install works under any prefix and libdir: plugins in <libdir>/diffgraph/plugins, data in
/// <prefix>/share/diffgraph. The build tree has the same layout (its share/diffgraph links to the
/// source tree's models/ data), so a build runs like an install.
#pragma once

#include <filesystem>
#include <vector>

namespace diffgraph {

/// The installed plugin folder: <libdir>/diffgraph/plugins beside the engine library.
std::filesystem::path installed_plugin_folder();

/// The installed data folder: <prefix>/share/diffgraph (clip/ holds the CLIP vocabulary,
/// models/ the embedded default model).
std::filesystem::path installed_data_folder();

/// The folders searched for plugins, in order: `extra` (e.g. from --plugins), the entries of
/// DIFFGRAPH_PLUGIN_PATH (':'-separated), then installed_plugin_folder(). Duplicates removed.
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::filesystem::path>& extra = {});

/// The folders front ends search for model files, in order: `extra` (e.g. from --models), the
/// entries of DIFFGRAPH_MODELS (':'-separated, empty entries skipped), then `models` (relative
/// to the working directory). Model loaders search default_model_folder() after these.
std::vector<std::filesystem::path> model_search_path(const std::vector<std::filesystem::path>& extra = {});

/// Where the embedded default model is: installed_data_folder() / "models".
std::filesystem::path default_model_folder();

/// The folders diffgraph's own data files are looked up in: $DIFFGRAPH_DATA_DIR when set, then
/// installed_data_folder().
std::vector<std::filesystem::path> data_search_path();

/// The first `relative` (e.g. "clip/bpe_simple_vocab_16e6.txt.gz") found in data_search_path().
/// Throws std::runtime_error naming the file and every place searched when none has it.
std::filesystem::path find_data_file(const std::filesystem::path& relative);

}  // namespace diffgraph
