#include "diffgraph/errors.hpp"

namespace diffgraph {

std::string Diagnostic::to_string() const {
  std::string text;
  if (!node_id.empty()) text = "node " + node_id;
  if (!path.empty()) {
    if (!text.empty()) text += ' ';
    text += '(';
    text += path;
    text += ')';
  }
  if (!text.empty()) text += ": ";
  return text + message;
}

namespace {
std::string graph_error_message(const std::string& source, const std::vector<Diagnostic>& diagnostics) {
  std::string message = source + ": " + std::to_string(diagnostics.size()) +
                        (diagnostics.size() == 1 ? " problem" : " problems");
  for (const auto& d : diagnostics) message += "\n  " + d.to_string();
  return message;
}
}  // namespace

GraphError::GraphError(std::string source, std::vector<Diagnostic> diagnostics)
    : Error(graph_error_message(source, diagnostics)),
      source_(std::move(source)),
      diagnostics_(std::move(diagnostics)) {}

ExecutionError::ExecutionError(std::string node_id, std::string node_type, std::string message)
    : Error("node " + node_id + " (" + node_type + ") failed: " + message),
      node_id_(std::move(node_id)),
      node_type_(std::move(node_type)),
      reason_(std::move(message)) {}

}  // namespace diffgraph
