/// @file file_inspector.hpp
/// Describing files a plugin understands, for `diffgraph info` and other front ends.
///
/// The front ends link the engine only: what a checkpoint, a LoRA or an embedding file holds is
/// known to the plugin that loads it. A plugin registers a FileInspector; `diffgraph info FILE`
/// asks each registered inspector in turn and prints the first description it gets.
///
/// @code
/// DIFFGRAPH_PLUGIN(registrar) {
///   registrar.add_file_inspector({"checkpoint", "Stable Diffusion checkpoints",
///       [](const std::filesystem::path& path) -> std::optional<std::string> {
///         if (!looks_like_a_checkpoint(path)) return std::nullopt;
///         return describe_checkpoint(path);
///       }});
/// }
/// @endcode
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace diffgraph {

/// Describes a file in plain text: std::nullopt when the file is not of the inspector's kind
/// (so the next inspector is asked); throws, with a message naming the file and what is wrong,
/// when it is of that kind but cannot be read.
using InspectFileFn = std::function<std::optional<std::string>(const std::filesystem::path&)>;

/// One kind of file a plugin can describe.
struct FileInspector {
  /// Keeps the plugin that defined the inspector loaded while it lives (set by the loader).
  /// Declared first so it is destroyed after the function whose code lives in that plugin.
  std::shared_ptr<void> library;
  std::string name;         ///< short kind name, e.g. "checkpoint"
  std::string description;  ///< what it recognises, one line
  InspectFileFn inspect;

  FileInspector() = default;
  FileInspector(std::string name, std::string description, InspectFileFn inspect)
      : name(std::move(name)), description(std::move(description)), inspect(std::move(inspect)) {}
};

}  // namespace diffgraph
