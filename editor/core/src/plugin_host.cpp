// Plugins for the editor, and reloading them without restarting.
#include "diffgraph/editor/plugin_host.hpp"

#include <diffgraph/plugin_loader.hpp>

#include "diffgraph/editor/document.hpp"
#include "diffgraph/editor/run_session.hpp"

namespace diffgraph::editor {

namespace {

std::shared_ptr<const Registry> load_registry(const std::vector<std::filesystem::path>& paths) {
  auto registry = std::make_shared<Registry>();
  load_plugins(*registry, paths);
  return registry;
}

}  // namespace

PluginHost::PluginHost(std::vector<std::filesystem::path> paths)
    : paths_(std::move(paths)), registry_(load_registry(paths_)) {}

const std::shared_ptr<const Registry>& PluginHost::reload() {
  // Let go of the old registry before loading: when nobody else holds it, its node specs (and
  // with them the plugin libraries) are gone, so dlopen reads the files again.
  registry_.reset();
  registry_ = load_registry(paths_);
  ++generation_;
  return registry_;
}

PluginReload reload_plugins(PluginHost& host, RunSession& session, Document& document) {
  PluginReload outcome;
  if (session.running()) {
    outcome.message = "a run is in progress: cancel it or wait for it to finish before reloading plugins";
    return outcome;
  }
  if (!session.set_registry(nullptr)) {
    outcome.message = "a run started while reloading: try again when it has finished";
    return outcome;
  }
  document.set_registry(nullptr);
  const auto& registry = host.reload();
  session.set_registry(registry);
  document.set_registry(registry);

  std::size_t loaded = 0, refused = 0;
  for (const auto& plugin : registry->plugins()) (plugin.loaded ? loaded : refused)++;
  outcome.reloaded = true;
  outcome.missing_nodes = document.missing_nodes();
  outcome.message = std::to_string(loaded) + " plugin" + (loaded == 1 ? "" : "s") + " loaded";
  if (refused) outcome.message += ", " + std::to_string(refused) + " refused (see the plugin list)";
  outcome.message += ", " + std::to_string(registry->nodes().size()) + " node types";
  if (!outcome.missing_nodes.empty())
    outcome.message += "; " + std::to_string(outcome.missing_nodes.size()) + " node(s) of the document have a missing type";
  return outcome;
}

}  // namespace diffgraph::editor
