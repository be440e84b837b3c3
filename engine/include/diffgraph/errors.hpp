/// @file errors.hpp
/// The errors the engine reports. Every message names what it is about (node id, file, JSON
/// path) so a user can find the problem without a debugger.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace diffgraph {

/// Base of all diffgraph errors.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One problem found in a workflow: where it is and what is wrong.
struct Diagnostic {
  std::string path;     ///< JSON path, e.g. "/nodes/3/inputs/seed" (may be empty)
  std::string node_id;  ///< the node concerned (may be empty)
  std::string message;  ///< what is wrong, in words
  /// "node 3 (/nodes/3/inputs/seed): value 2.5 is not an integer"
  std::string to_string() const;
};

/// A workflow that cannot be loaded or does not validate. Lists every problem found.
class GraphError : public Error {
 public:
  GraphError(std::string source, std::vector<Diagnostic> diagnostics);
  const std::string& source() const { return source_; }  ///< file name or "<string>"
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::string source_;
  std::vector<Diagnostic> diagnostics_;
};

/// Thrown by a node's execute function for a user-facing problem ("missing model file x").
/// The executor adds the node's id and type.
class NodeError : public Error {
 public:
  using Error::Error;
};

/// A run stopped because it was cancelled.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

/// A node failed while running. Everything computed before it stays in the cache.
class ExecutionError : public Error {
 public:
  ExecutionError(std::string node_id, std::string node_type, std::string message);
  const std::string& node_id() const { return node_id_; }
  const std::string& node_type() const { return node_type_; }
  const std::string& reason() const { return reason_; }  ///< the node's own message

 private:
  std::string node_id_, node_type_, reason_;
};

}  // namespace diffgraph
