#include "diffgraph/plugin_loader.hpp"

#include <algorithm>
#include <set>

#include <boost/dll/shared_library.hpp>

#include "diffgraph/plugin.hpp"

namespace diffgraph {

PluginRegistrar::~PluginRegistrar() = default;

namespace {

// Collects a plugin's registrations so they can be checked and committed all at once.
class StagingRegistrar final : public PluginRegistrar {
 public:
  void set_info(std::string name, std::string version, std::string description) override {
    name_ = std::move(name);
    version_ = std::move(version);
    description_ = std::move(description);
  }
  void add_type(TypeInfo type) override { types_.push_back(std::move(type)); }
  void add_node(NodeSpec spec) override { nodes_.push_back(std::move(spec)); }
  void add_file_inspector(FileInspector inspector) override { inspectors_.push_back(std::move(inspector)); }

  std::string name_, version_, description_;
  std::vector<TypeInfo> types_;
  std::vector<NodeSpec> nodes_;
  std::vector<FileInspector> inspectors_;
};

std::string library_error(const std::exception& e) {
  std::string what = e.what();
  return what.empty() ? "unknown error" : what;
}

}  // namespace

PluginInfo load_plugin(Registry& registry, const std::filesystem::path& file) {
  PluginInfo info;
  info.path = file;
  info.name = file.stem().string();
  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    library->load(file.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    info.error = "cannot open the library: " + library_error(e);
    return info;
  }
  for (const char* symbol : {"diffgraph_plugin_abi_version", "diffgraph_plugin_register"}) {
    if (!library->has(symbol)) {
      info.error = std::string("not a diffgraph plugin: it does not export ") + symbol +
                   " (define it with DIFFGRAPH_PLUGIN)";
      return info;
    }
  }
  const int plugin_abi = library->get<PluginAbiVersionFn>("diffgraph_plugin_abi_version")();
  if (plugin_abi != kAbiVersion) {
    info.error = "built for plugin ABI version " + std::to_string(plugin_abi) + ", but this diffgraph uses ABI version " +
                 std::to_string(kAbiVersion) + ": rebuild the plugin against this diffgraph";
    return info;
  }

  StagingRegistrar staging;
  try {
    library->get<PluginRegisterFn>("diffgraph_plugin_register")(staging);
  } catch (const std::exception& e) {
    info.error = std::string("its register function threw: ") + e.what();
    return info;
  } catch (...) {
    info.error = "its register function threw an unknown exception";
    return info;
  }
  if (!staging.name_.empty()) info.name = staging.name_;
  info.version = staging.version_;
  info.description = staging.description_;

  // Check everything before committing anything, so a refused plugin leaves no trace.
  std::set<std::string> own_nodes, own_types;
  for (const auto& type : staging.types_) {
    const std::string owner = registry.type_plugin(type.name);
    if (!owner.empty() && owner != info.name) {
      info.error = "type '" + type.name + "' from plugin '" + info.name + "' is already registered by plugin '" + owner + "'";
      return info;
    }
    own_types.insert(type.name);
  }
  for (const auto& node : staging.nodes_) {
    if (node.type.empty() || !node.execute) {
      info.error = "node '" + node.type + "' has no " + (node.type.empty() ? "type name" : "execute function");
      return info;
    }
    const std::string owner = registry.node_plugin(node.type);
    if (!owner.empty()) {
      info.error = "node type '" + node.type + "' from plugin '" + info.name + "' is already registered by plugin '" + owner + "'";
      return info;
    }
    if (!own_nodes.insert(node.type).second) {
      info.error = "node type '" + node.type + "' is registered twice by plugin '" + info.name + "'";
      return info;
    }
  }
  for (const auto& inspector : staging.inspectors_) {
    if (!inspector.inspect) {
      info.error = "file inspector '" + inspector.name + "' from plugin '" + info.name + "' has no function";
      return info;
    }
  }
  std::shared_ptr<void> keepalive = library;
  for (auto& type : staging.types_) registry.add_type(std::move(type), info.name);
  for (auto& node : staging.nodes_) {
    node.library = keepalive;
    info.node_types.push_back(node.type);
    registry.add_node(std::move(node), info.name);
  }
  for (auto& inspector : staging.inspectors_) {
    inspector.library = keepalive;
    registry.add_file_inspector(std::move(inspector), info.name);
  }
  info.loaded = true;
  return info;
}

std::vector<PluginInfo> load_plugins(Registry& registry, const std::vector<std::filesystem::path>& paths) {
  std::vector<PluginInfo> infos;
  std::set<std::filesystem::path> loaded_files;
  for (const auto& path : paths) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_regular_file(path, ec)) {
      files.push_back(path);
    } else if (std::filesystem::is_directory(path, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(path, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path());
      std::sort(files.begin(), files.end());
    }
    for (const auto& file : files) {
      auto canonical = std::filesystem::weakly_canonical(file, ec);
      if (!loaded_files.insert(ec ? file : canonical).second) continue;
      PluginInfo info = load_plugin(registry, file);
      registry.add_plugin_info(info);
      infos.push_back(std::move(info));
    }
  }
  return infos;
}

}  // namespace diffgraph
