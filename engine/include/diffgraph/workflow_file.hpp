/// @file workflow_file.hpp
/// Reading the workflow a command was given: a `diffgraph/1` JSON file, or a PNG image saved
/// by diffgraph, which carries its workflow in a text chunk with the keyword "workflow".
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include <diffgraph/graph.hpp>

namespace diffgraph {

/// The PNG text-chunk keyword under which diffgraph stores a workflow.
inline constexpr std::string_view kPngWorkflowKeyword = "workflow";

/// True when `bytes` start with the 8-byte PNG signature.
bool is_png(std::span<const std::byte> bytes);

/// The text of the first tEXt, zTXt or iTXt chunk whose keyword is "workflow". Every chunk's
/// length and CRC is checked up to that chunk. Throws GraphError (naming `source` and the
/// chunk) for a truncated or corrupt PNG, and for one that holds no workflow.
std::string png_workflow_text(std::span<const std::byte> png, std::string_view source);

/// Reads `path` and parses the workflow in it (JSON, or PNG by its signature). Throws
/// std::runtime_error when the file cannot be read, GraphError when it holds no valid workflow.
Graph load_workflow_file(const std::filesystem::path& path);

}  // namespace diffgraph
