/// @file registry.hpp
/// The registry of value types and node types, filled by plugins.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "file_inspector.hpp"
#include "node_spec.hpp"
#include "types.hpp"

namespace diffgraph {

/// What the loader knows about one plugin file, loaded or not.
struct PluginInfo {
  std::string name;                 ///< the plugin's own name ("basic"), or the file stem
  std::string version;
  std::string description;
  std::filesystem::path path;
  bool loaded = false;
  std::string error;                ///< why it was refused, when not loaded
  std::vector<std::string> node_types;
};

/// Node and value types by name. The core registers INT, FLOAT, STRING and BOOLEAN.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers a type. Registering the same name again from another plugin is an error
  /// naming both plugins; re-registering an identical built-in is ignored.
  void add_type(TypeInfo type, std::string_view plugin = "core");
  /// Registers a node type. A duplicate type name is an error naming both plugins.
  void add_node(NodeSpec spec, std::string_view plugin = "core");
  /// Registers a file inspector; inspectors are asked in registration order.
  void add_file_inspector(FileInspector inspector, std::string_view plugin = "core");
  /// Records a plugin's load result (shown by `diffgraph plugins`).
  void add_plugin_info(PluginInfo info);

  const NodeSpec* find_node(std::string_view type) const;
  const TypeInfo* find_type(std::string_view name) const;
  /// The plugin that registered a node or type ("core" for built-ins, "" if unknown).
  std::string node_plugin(std::string_view type) const;
  std::string type_plugin(std::string_view name) const;

  std::vector<const NodeSpec*> nodes() const;  ///< sorted by type name
  std::vector<const TypeInfo*> types() const;  ///< sorted by name
  const std::vector<PluginInfo>& plugins() const;
  const std::vector<FileInspector>& file_inspectors() const;

 private:
  struct NodeEntry {
    std::unique_ptr<NodeSpec> spec;
    std::string plugin;
  };
  struct TypeEntry {
    TypeInfo info;
    std::string plugin;
  };
  std::map<std::string, NodeEntry, std::less<>> nodes_;
  std::map<std::string, TypeEntry, std::less<>> types_;
  std::vector<PluginInfo> plugins_;
  std::vector<FileInspector> file_inspectors_;
};

}  // namespace diffgraph
