#include "diffgraph/registry.hpp"

namespace diffgraph {

Registry::Registry() {
  add_type({std::string(builtin_types::kInt), {110, 190, 120}, "64-bit signed integer"});
  add_type({std::string(builtin_types::kFloat), {120, 170, 230}, "floating-point number"});
  add_type({std::string(builtin_types::kString), {230, 200, 110}, "UTF-8 text"});
  add_type({std::string(builtin_types::kBoolean), {200, 120, 200}, "true or false"});
  add_type({std::string(builtin_types::kAny), {200, 200, 200}, "any value"});
}

Registry::~Registry() = default;

void Registry::add_type(TypeInfo type, std::string_view plugin) {
  auto it = types_.find(type.name);
  if (it != types_.end()) {
    if (it->second.plugin == plugin) {
      it->second.info = std::move(type);
      return;
    }
    throw Error("type '" + type.name + "' from plugin '" + std::string(plugin) +
                "' is already registered by plugin '" + it->second.plugin + "'");
  }
  std::string name = type.name;
  types_.emplace(std::move(name), TypeEntry{std::move(type), std::string(plugin)});
}

void Registry::add_node(NodeSpec spec, std::string_view plugin) {
  if (spec.type.empty()) throw Error("plugin '" + std::string(plugin) + "' registered a node with no type name");
  if (!spec.execute) throw Error("node type '" + spec.type + "' from plugin '" + std::string(plugin) + "' has no execute function");
  auto it = nodes_.find(spec.type);
  if (it != nodes_.end())
    throw Error("node type '" + spec.type + "' from plugin '" + std::string(plugin) +
                "' is already registered by plugin '" + it->second.plugin + "'");
  if (spec.display_name.empty()) spec.display_name = spec.type;
  std::string type = spec.type;
  nodes_.emplace(std::move(type), NodeEntry{std::make_unique<NodeSpec>(std::move(spec)), std::string(plugin)});
}

void Registry::add_file_inspector(FileInspector inspector, std::string_view plugin) {
  if (!inspector.inspect)
    throw Error("file inspector '" + inspector.name + "' from plugin '" + std::string(plugin) + "' has no function");
  file_inspectors_.push_back(std::move(inspector));
}

void Registry::add_plugin_info(PluginInfo info) { plugins_.push_back(std::move(info)); }

const NodeSpec* Registry::find_node(std::string_view type) const {
  auto it = nodes_.find(type);
  return it == nodes_.end() ? nullptr : it->second.spec.get();
}

const TypeInfo* Registry::find_type(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second.info;
}

std::string Registry::node_plugin(std::string_view type) const {
  auto it = nodes_.find(type);
  return it == nodes_.end() ? std::string() : it->second.plugin;
}

std::string Registry::type_plugin(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? std::string() : it->second.plugin;
}

std::vector<const NodeSpec*> Registry::nodes() const {
  std::vector<const NodeSpec*> list;
  for (const auto& [_, entry] : nodes_) list.push_back(entry.spec.get());
  return list;
}

std::vector<const TypeInfo*> Registry::types() const {
  std::vector<const TypeInfo*> list;
  for (const auto& [_, entry] : types_) list.push_back(&entry.info);
  return list;
}

const std::vector<PluginInfo>& Registry::plugins() const { return plugins_; }

const std::vector<FileInspector>& Registry::file_inspectors() const { return file_inspectors_; }

}  // namespace diffgraph
