/// @file plugin.hpp
/// Writing a plugin: the entry points a plugin library exports.
///
/// A plugin is a shared library with two C-linkage functions: one that returns the ABI
/// version it was compiled against and one that registers its types and nodes. The
/// DIFFGRAPH_PLUGIN macro defines both:
///
/// @code
/// #include <diffgraph/plugin.hpp>
/// DIFFGRAPH_PLUGIN(registrar) {
///   registrar.set_info("myplugin", "1.0", "What it does");
///   registrar.add_node(make_my_node_spec());
/// }
/// @endcode
///
/// A plugin with one node per file lets each file register its own node instead: the file
/// ends with `DIFFGRAPH_NODE(its_factory);`, and the plugin's register function adds every node
/// so declared (after its own block, in static-initialisation order).
///
/// @code
/// // my_node.cpp
/// NodeSpec my_node() { NodeSpec spec; spec.type = "MyNode"; ...; return spec; }
/// DIFFGRAPH_NODE(my_node);
/// @endcode
///
/// Registration is all-or-nothing: if the function throws or registers a node type that
/// another plugin already has, nothing of the plugin is kept and the loader reports why.
#pragma once

#include <string>
#include <vector>

#include "abi.hpp"
#include "file_inspector.hpp"
#include "node_spec.hpp"
#include "types.hpp"
#include "value.hpp"

namespace diffgraph {

/// What a plugin's register function receives.
class PluginRegistrar {
 public:
  virtual ~PluginRegistrar();
  /// Name (defaults to the file name), version and a one-line description of the plugin.
  virtual void set_info(std::string name, std::string version, std::string description) = 0;
  /// Declares a value type with its editor colour.
  virtual void add_type(TypeInfo type) = 0;
  /// Declares a node type.
  virtual void add_node(NodeSpec spec) = 0;
  /// Declares a kind of file the plugin can describe (`diffgraph info`).
  virtual void add_file_inspector(FileInspector inspector) = 0;
};

/// Signatures of the two exported entry points.
using PluginAbiVersionFn = int();
using PluginRegisterFn = void(PluginRegistrar&);

/// Makes one node spec (a node file's factory).
using NodeFactory = NodeSpec (*)();

/// The factories DIFFGRAPH_NODE declared in the plugin being built. Defined by DIFFGRAPH_PLUGIN;
/// hidden, so every plugin library has its own list.
__attribute__((visibility("hidden"))) std::vector<NodeFactory>& plugin_node_factories();

/// What DIFFGRAPH_NODE expands to: adds a factory to the plugin's list during static
/// initialisation.
struct NodeRegistration {
  explicit NodeRegistration(NodeFactory factory) { plugin_node_factories().push_back(factory); }
};

}  // namespace diffgraph

/// Declares a node factory of this plugin (once per node file, at namespace scope); the plugin
/// registers it after its register function's own block.
#define DIFFGRAPH_NODE(factory) \
  static const ::diffgraph::NodeRegistration factory##_registration_ { factory }

/// Defines a plugin's entry points; the block that follows is its register function.
#define DIFFGRAPH_PLUGIN(registrar)                                                                      \
  static void diffgraph_plugin_register_own(::diffgraph::PluginRegistrar&);                            \
  std::vector<::diffgraph::NodeFactory>& diffgraph::plugin_node_factories() {                          \
    static std::vector<::diffgraph::NodeFactory> factories;                                             \
    return factories;                                                                                    \
  }                                                                                                      \
  extern "C" DIFFGRAPH_EXPORT int diffgraph_plugin_abi_version() { return DIFFGRAPH_ABI_VERSION; }      \
  extern "C" DIFFGRAPH_EXPORT void diffgraph_plugin_register(::diffgraph::PluginRegistrar& registrar) { \
    diffgraph_plugin_register_own(registrar);                                                            \
    for (const auto factory : ::diffgraph::plugin_node_factories()) registrar.add_node(factory());      \
  }                                                                                                      \
  static void diffgraph_plugin_register_own(::diffgraph::PluginRegistrar& registrar)
