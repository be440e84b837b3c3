/// @file fingerprint.hpp
/// Fingerprints of files, for nodes that read the outside world (NodeSpec::fingerprint).
#pragma once

#include <filesystem>
#include <string>

namespace diffgraph {

/// A short text that changes when the file changes: its size, modification time and a hash of
/// its contents (of the first and last MiB for files over 16 MiB, so multi-GB checkpoints stay
/// cheap). Throws NodeError naming the path when the file cannot be read.
std::string file_fingerprint(const std::filesystem::path& path);

}  // namespace diffgraph
