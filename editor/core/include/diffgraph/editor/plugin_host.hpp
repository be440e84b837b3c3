/// @file plugin_host.hpp
/// The editor's plugins: the registry built from the plugin folders, and reloading it without
/// restarting (for plugin authors who rebuild a plugin while the editor is open).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <diffgraph/registry.hpp>

namespace diffgraph::editor {

class Document;
class RunSession;

/// Owns the registry filled from plugin folders.
class PluginHost {
 public:
  /// Loads every plugin in `paths` (folders or files, as diffgraph::load_plugins). Pass
  /// plugin_search_path(extra) for the usual folders.
  explicit PluginHost(std::vector<std::filesystem::path> paths);

  /// The current registry (shared: documents and the run session hold it too).
  const std::shared_ptr<const Registry>& registry() const { return registry_; }
  /// What the last load found, loaded or refused.
  const std::vector<PluginInfo>& plugins() const { return registry_->plugins(); }
  const std::vector<std::filesystem::path>& paths() const { return paths_; }
  /// Increases with every reload.
  int generation() const { return generation_; }

  /// Drops this host's registry and loads the folders into a new one. For the old plugin
  /// libraries to be really unloaded (so a rebuilt file is read again), every other holder of
  /// the old registry must have let it go first: use reload_plugins() below.
  const std::shared_ptr<const Registry>& reload();

 private:
  std::vector<std::filesystem::path> paths_;
  std::shared_ptr<const Registry> registry_;
  int generation_ = 0;
};

/// What reload_plugins did.
struct PluginReload {
  bool reloaded = false;
  std::string message;                  ///< why not, or a summary ("3 plugins, 41 node types")
  std::vector<std::string> missing_nodes;  ///< document nodes whose type vanished (kept, marked missing)
};

/// Reloads plugins for an editor: refused while `session` is running. Otherwise releases the
/// registry from the session (its executor and cache go, since cached values hold plugin code)
/// and from the document, reloads the host, and hands the new registry to both. The document
/// keeps nodes whose type vanished (Document::is_missing).
PluginReload reload_plugins(PluginHost& host, RunSession& session, Document& document);

}  // namespace diffgraph::editor
