/// @file executor.hpp
/// Running workflows: a caching DAG executor.
///
/// The executor runs only what the requested outputs need, in dependency order. Each node's
/// outputs are cached under an input signature: its type and version, its literal inputs,
/// the signatures of the outputs linked into it, and its fingerprint. Node ids are not part
/// of it, so two identical branches share one entry. A node whose signature is cached is not
/// run, and neither is anything upstream that only it needed. Cached values are immutable.
///
/// One executor runs one graph at a time, on whatever thread calls run(); front ends run it on
/// a background thread and receive events through the callback (called on that thread).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph.hpp"
#include "node_spec.hpp"
#include "output_cache.hpp"
#include "registry.hpp"

namespace diffgraph {

/// Something that happened to a node during a run.
struct NodeEvent {
  enum class Kind { Started, Progress, Finished, Cached, Failed, Warning };
  Kind kind = Kind::Started;
  std::string node_id;
  std::string node_type;
  int step = 0, total = 0;               ///< Progress
  std::optional<PreviewImage> preview;   ///< Progress, when the node sent one
  std::string message;                   ///< Failed, Warning
  double seconds = 0;                    ///< Finished: time spent in the node
};

/// "started", "progress", ...
const char* to_string(NodeEvent::Kind kind);

/// Receives events; called on the executor's thread.
using EventCallback = std::function<void(const NodeEvent&)>;

/// Asks a run to stop. Safe to call cancel() from any thread (a signal handler included).
class CancelToken {
 public:
  void cancel() noexcept { flag_.store(true, std::memory_order_relaxed); }
  void reset() noexcept { flag_.store(false, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return flag_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> flag_{false};
};

/// What to run and how.
struct RunOptions {
  /// Node ids whose outputs are wanted; empty = every output node of the graph.
  std::vector<std::string> targets;
  Environment environment;
  EventCallback on_event;
  const CancelToken* cancel = nullptr;
};

/// Per-run statistics: node ids, in the order things happened.
struct RunStats {
  std::vector<std::string> executed;
  std::vector<std::string> cached;
  std::vector<std::string> failed;
  double seconds = 0;
};

/// What a run produced.
struct RunResult {
  RunStats stats;
  /// Outputs of the target nodes: node id → output name → value.
  std::map<std::string, std::map<std::string, ValuePtr>> outputs;
  /// Results recorded by nodes (files written...), by node id.
  std::map<std::string, std::vector<nlohmann::json>> results;
  /// Warnings, by node id.
  std::map<std::string, std::vector<std::string>> warnings;
};

/// Runs graphs against a registry, keeping a cache between runs.
class Executor {
 public:
  /// `cache_budget_bytes`: the most memory cached outputs may hold (least recently used go first).
  explicit Executor(const Registry& registry, std::size_t cache_budget_bytes = std::size_t{4} << 30);

  /// Validates and runs `graph` (bypassed nodes resolved away first, see resolve_bypass).
  /// Throws GraphError when it is invalid, ExecutionError when a
  /// node fails (everything finished before it stays cached), Cancelled when cancelled
  /// between nodes or inside a node's progress call.
  RunResult run(const Graph& graph, const RunOptions& options = {});

  OutputCache& cache() { return cache_; }
  const Registry& registry() const { return registry_; }

 private:
  const Registry& registry_;
  OutputCache cache_;
  std::mutex run_mutex_;  // one run at a time
};

}  // namespace diffgraph
