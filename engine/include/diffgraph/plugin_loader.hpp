/// @file plugin_loader.hpp
/// Finding and loading plugin libraries (Boost.DLL).
#pragma once

#include <filesystem>
#include <vector>

#include "locations.hpp"  // plugin_search_path()
#include "registry.hpp"

namespace diffgraph {

/// Loads one plugin library into `registry`. Never throws: a plugin that cannot be opened,
/// lacks the entry points, was built for another ABI version, throws while registering or
/// registers a node type that already exists is refused, and the returned info says why.
/// Loaded libraries stay loaded while any node spec or value from them lives.
PluginInfo load_plugin(Registry& registry, const std::filesystem::path& file);

/// Loads every `*.so` in each folder (a path naming a file loads that file), in sorted order,
/// and records each result in the registry. One broken plugin never stops the others.
std::vector<PluginInfo> load_plugins(Registry& registry, const std::vector<std::filesystem::path>& paths);

}  // namespace diffgraph
