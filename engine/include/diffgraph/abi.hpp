/// @file abi.hpp
/// The plugin ABI version and the symbol-export macro.
///
/// A plugin is a shared library compiled against these headers. Because nodes, values and
/// specs cross the library boundary as C++ objects, a plugin must be built against the same
/// ABI version as the host: the loader asks each plugin which version it was built with and
/// refuses a mismatch with a message naming both. The version changes whenever a public
/// header changes a class layout, a virtual function, or an inline function's behaviour.
#pragma once

#ifndef DIFFGRAPH_ABI_VERSION
#define DIFFGRAPH_ABI_VERSION 2
#endif

/// Marks a symbol as exported from a plugin built with hidden visibility.
#define DIFFGRAPH_EXPORT __attribute__((visibility("default")))

namespace diffgraph {
/// The ABI version this host or plugin is compiled with.
inline constexpr int kAbiVersion = DIFFGRAPH_ABI_VERSION;
/// The engine library's release version, e.g. "0.1.0".
const char* engine_version();
}  // namespace diffgraph
