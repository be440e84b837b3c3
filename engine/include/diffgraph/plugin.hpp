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
/// Registration is all-or-nothing: if the function throws or registers a node type that
/// another plugin already has, nothing of the plugin is kept and the loader reports why.
#pragma once

#include <string>

#include "abi.hpp"
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
};

/// Signatures of the two exported entry points.
using PluginAbiVersionFn = int();
using PluginRegisterFn = void(PluginRegistrar&);

}  // namespace diffgraph

/// Defines a plugin's entry points; the block that follows is its register function.
#define DIFFGRAPH_PLUGIN(registrar)                                                       \
  extern "C" DIFFGRAPH_EXPORT int diffgraph_plugin_abi_version() { return DIFFGRAPH_ABI_VERSION; } \
  extern "C" DIFFGRAPH_EXPORT void diffgraph_plugin_register(::diffgraph::PluginRegistrar& registrar)
