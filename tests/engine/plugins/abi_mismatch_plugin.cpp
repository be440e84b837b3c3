// Claims to be built for another ABI version.
#include <diffgraph/plugin.hpp>

extern "C" DIFFGRAPH_EXPORT int diffgraph_plugin_abi_version() { return DIFFGRAPH_ABI_VERSION + 41; }
extern "C" DIFFGRAPH_EXPORT void diffgraph_plugin_register(diffgraph::PluginRegistrar&) {}
