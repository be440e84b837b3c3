/// @file exit_codes.hpp
/// The exit status of the `diffgraph` command, documented in docs/cli.md. Scripts rely on
/// these numbers, so they never change meaning.
#pragma once

namespace diffgraph::cli {

inline constexpr int kExitOk = 0;            ///< the command did what was asked
inline constexpr int kExitFailure = 1;       ///< any other error: unreadable file, I/O, plugin...
inline constexpr int kExitUsage = 2;         ///< bad command line (unknown option, bad --set...)
inline constexpr int kExitInvalidGraph = 3;  ///< the workflow is malformed or does not validate
inline constexpr int kExitExecution = 4;     ///< a node failed while running
inline constexpr int kExitCancelled = 130;   ///< stopped by Ctrl-C (128 + SIGINT, as shells do)

}  // namespace diffgraph::cli
