/// @file run_session.hpp
/// Running the document's graph from the editor: validation with per-node diagnostics, then
/// execution on a background thread with the engine's caching executor, and thread-safe
/// per-node state (queued/running/cached/done/failed, progress, live preview, output pictures)
/// the UI reads every frame.
///
/// The executor and its cache live as long as the session (and its registry), so re-running
/// after changing a seed runs only what the change affects. Events arrive on the run thread and
/// are folded into the state under a mutex; the UI copies what it draws (pictures are shared,
/// immutable, and carry a version so textures are uploaded only when they change).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <diffgraph/errors.hpp>
#include <diffgraph/executor.hpp>
#include <diffgraph/node_spec.hpp>
#include <diffgraph/registry.hpp>
#include <diffgraph/value.hpp>

namespace diffgraph::editor {

class Document;

/// What a node is doing in the current or last run.
enum class NodeRunState {
  Idle,     ///< not part of the run (or not needed: everything downstream came from the cache)
  Queued,   ///< part of the run, not started yet
  Running,  ///< executing now (see step/total)
  Cached,   ///< served from the cache
  Done,     ///< executed in this run
  Failed,   ///< failed (message says why), or has validation problems
};

/// "idle", "queued", "running", "cached", "done", "failed".
const char* to_string(NodeRunState state);

/// A picture shared between the run thread and the UI; `version` is unique per picture, so a
/// texture cache can key on it.
struct Picture {
  PreviewImage image;  ///< RGBA, 8 bits per channel
  std::uint64_t version = 0;
};
using PicturePtr = std::shared_ptr<const Picture>;

/// Everything the UI shows on one node.
struct NodeRunStatus {
  NodeRunState state = NodeRunState::Idle;
  std::string message;                  ///< the failure message (execution or validation)
  std::vector<std::string> problems;    ///< validation diagnostics of this node (before running)
  std::vector<std::string> warnings;    ///< warnings the node emitted in the last run
  int step = 0, total = 0;              ///< progress of a running node (total 0: none reported)
  double seconds = 0;                   ///< time spent executing, for a Done node
  PicturePtr preview;                   ///< latest live preview sent with progress (sampler steps)
  /// Pictures of the node's IMAGE outputs (Value::preview), or for an output node without
  /// IMAGE outputs (SaveImage) the pictures of its IMAGE inputs, from the last run that
  /// produced them.
  std::vector<PicturePtr> images;
  std::vector<nlohmann::json> results;  ///< what the node recorded (files written...) in the last run
  std::uint64_t version = 0;            ///< changes whenever this status changes
};

/// One picture in the gallery panel.
struct GalleryImage {
  std::string node_id;
  std::uint64_t run = 0;   ///< RunReport::run of the run that made it
  PicturePtr picture;
  std::string file;        ///< the file written for it, when the node recorded one ({"image": ...})
};

/// How the session's current or last run ended.
enum class RunPhase {
  Idle,       ///< nothing ran yet
  Running,
  Finished,
  Failed,     ///< a node failed (RunReport::failed_node, message)
  Cancelled,
  Invalid,    ///< validation refused the graph (RunReport::diagnostics); nothing ran
};

const char* to_string(RunPhase phase);

/// The outcome of the current or last run.
struct RunReport {
  RunPhase phase = RunPhase::Idle;
  std::uint64_t run = 0;                  ///< increases with every start()
  std::string message;                    ///< error text for Failed/Invalid, "cancelled"
  std::string failed_node;                ///< the node that failed, if any
  std::vector<Diagnostic> diagnostics;    ///< Invalid: every problem, each naming its node
  RunStats stats;                         ///< executed / cached / failed node ids
  double seconds = 0;                     ///< wall time of the run
};

/// Settings of a session.
struct RunSessionOptions {
  Environment environment;                          ///< output folder, model folders, device...
  std::size_t cache_budget_bytes = std::size_t{4} << 30;
  /// Output types whose values are turned into pictures for the node and the gallery.
  std::vector<std::string> picture_types = {"IMAGE"};
  std::size_t gallery_limit = 64;                   ///< oldest pictures go first
};

/// Validates and runs documents in the background, one run at a time.
class RunSession {
 public:
  explicit RunSession(std::shared_ptr<const Registry> registry, RunSessionOptions options = {});
  /// Cancels a run in progress and waits for it.
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  /// Checks the document's graph without running it. Every node's `problems` are replaced by
  /// what this finds (so the UI can show them at once); returns every diagnostic. Bypass
  /// problems (an output with nothing to pass through) are reported here too.
  std::vector<Diagnostic> validate(const Document& document);

  /// Validates, then starts running the document's graph (a snapshot: editing during the run
  /// is fine) on a background thread. `targets`: node ids to compute (default: every output
  /// node). Returns false when a run is active or the graph is invalid (then last_report() is
  /// Invalid and the offending nodes are Failed with their problems).
  bool start(const Document& document, std::vector<std::string> targets = {});
  /// Asks the run to stop at the next node or progress step (returns at once).
  void cancel();
  bool running() const;
  /// Waits for the run to end; false on timeout.
  bool wait(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

  RunReport last_report() const;
  /// The node's status (Idle and empty for a node never run).
  NodeRunStatus node_status(std::string_view node_id) const;
  /// Every node with a status.
  std::map<std::string, NodeRunStatus> node_statuses() const;
  /// The gallery, newest first.
  std::vector<GalleryImage> gallery() const;
  void clear_gallery();
  /// Forgets all node states and validation problems (e.g. after opening another document).
  void clear_states();
  /// Increases on every change of state, report or gallery: redraw/poll only when it moved.
  std::uint64_t revision() const;

  /// Replaces the registry (after a plugin reload) or releases it (nullptr): drops the
  /// executor and its cache, whose values hold plugin code. Refused (false) while running.
  bool set_registry(std::shared_ptr<const Registry> registry);
  const std::shared_ptr<const Registry>& registry() const;
  /// Empties the executor's cache (refused while running).
  bool clear_cache();
  /// Entries in the executor's cache.
  std::size_t cache_entries() const;

  /// Changes the environment used by the next run (refused while running).
  bool set_environment(Environment environment);
  const RunSessionOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace diffgraph::editor
