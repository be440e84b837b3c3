// Background runs for the editor: the engine executor on a worker thread, its events folded
// into per-node state under a mutex, pictures made from IMAGE values for nodes and the gallery.
#include "diffgraph/editor/run_session.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <diffgraph/validation.hpp>

#include "diffgraph/editor/document.hpp"

namespace diffgraph::editor {

const char* to_string(NodeRunState state) {
  switch (state) {
    case NodeRunState::Idle: return "idle";
    case NodeRunState::Queued: return "queued";
    case NodeRunState::Running: return "running";
    case NodeRunState::Cached: return "cached";
    case NodeRunState::Done: return "done";
    case NodeRunState::Failed: return "failed";
  }
  return "unknown";
}

const char* to_string(RunPhase phase) {
  switch (phase) {
    case RunPhase::Idle: return "idle";
    case RunPhase::Running: return "running";
    case RunPhase::Finished: return "finished";
    case RunPhase::Failed: return "failed";
    case RunPhase::Cancelled: return "cancelled";
    case RunPhase::Invalid: return "invalid";
  }
  return "unknown";
}

namespace {

// What one run needs besides the graph: computed on the UI thread when it starts.
struct RunPlan {
  Graph graph;                                  // as the document has it (bypass flags included)
  std::vector<std::string> targets;             // what the user asked for (output nodes by default)
  std::vector<std::string> executor_targets;    // targets + nodes whose pictures are shown
  // Output nodes without picture outputs show the pictures fed into them: node → its input links.
  std::map<std::string, std::vector<Link>> picture_inputs;
  std::set<std::string> involved;               // nodes upstream of the targets (resolved graph)
  std::uint64_t run = 0;
};

const Registry& empty_registry() {
  static const Registry registry;
  return registry;
}

}  // namespace

struct RunSession::Impl {
  std::shared_ptr<const Registry> registry;
  RunSessionOptions options;
  std::unique_ptr<Executor> executor;

  mutable std::mutex mutex;
  std::condition_variable finished;
  std::thread worker;
  bool active = false;  // guarded by mutex
  CancelToken cancel;

  std::map<std::string, NodeRunStatus> statuses;
  std::deque<GalleryImage> gallery;
  RunReport report;
  std::uint64_t revision = 1;
  std::uint64_t status_versions = 0;
  std::atomic<std::uint64_t> picture_versions{0};
  // Pictures already made for a value (cached values come back as the same object), so a cached
  // re-run does not make new pictures and the UI does not upload the same texture again.
  std::map<const Value*, std::pair<std::weak_ptr<const Value>, PicturePtr>> pictures;

  const Registry& reg() const { return registry ? *registry : empty_registry(); }

  void touch(NodeRunStatus& status) {
    status.version = ++status_versions;
    ++revision;
  }

  PicturePtr picture_of(const ValuePtr& value) {
    if (!value) return nullptr;
    const auto& types = options.picture_types;
    if (std::find(types.begin(), types.end(), value->type()) == types.end()) return nullptr;
    if (auto it = pictures.find(value.get()); it != pictures.end()) {
      if (it->second.first.lock() == value) return it->second.second;
      pictures.erase(it);
    }
    auto preview = value->preview();
    if (!preview || preview->width <= 0 || preview->height <= 0) return nullptr;
    auto picture = std::make_shared<Picture>(Picture{std::move(*preview), ++picture_versions});
    pictures[value.get()] = {value, picture};
    return picture;
  }

  void on_event(const NodeEvent& event) {
    // The preview is converted outside the lock: the UI thread must never wait on it.
    PicturePtr preview;
    if (event.preview && event.preview->width > 0)
      preview = std::make_shared<Picture>(Picture{*event.preview, ++picture_versions});
    std::lock_guard lock(mutex);
    NodeRunStatus& status = statuses[event.node_id];
    switch (event.kind) {
      case NodeEvent::Kind::Started:
        status.state = NodeRunState::Running;
        status.step = status.total = 0;
        break;
      case NodeEvent::Kind::Progress:
        status.state = NodeRunState::Running;
        status.step = event.step;
        status.total = event.total;
        if (preview) status.preview = preview;
        break;
      case NodeEvent::Kind::Finished:
        status.state = NodeRunState::Done;
        status.seconds = event.seconds;
        break;
      case NodeEvent::Kind::Cached: status.state = NodeRunState::Cached; break;
      case NodeEvent::Kind::Failed:
        status.state = NodeRunState::Failed;
        status.message = event.message;
        break;
      case NodeEvent::Kind::Warning: status.warnings.push_back(event.message); break;
    }
    touch(status);
  }

  // Pictures and results of a finished run, then the gallery.
  void collect(const RunPlan& plan, const RunResult& result) {
    std::map<std::string, std::vector<PicturePtr>> images;
    for (const auto& [node_id, outputs] : result.outputs)
      for (const auto& [name, value] : outputs)
        if (auto picture = picture_of(value)) images[node_id].push_back(picture);
    for (const auto& [node_id, links] : plan.picture_inputs) {
      if (images.count(node_id)) continue;
      for (const auto& link : links) {
        auto node = result.outputs.find(link.node);
        if (node == result.outputs.end()) continue;
        auto value = node->second.find(link.output);
        if (value == node->second.end()) continue;
        if (auto picture = picture_of(value->second)) images[node_id].push_back(picture);
      }
    }

    std::lock_guard lock(mutex);
    for (const auto& [node_id, pictures_of_node] : images) {
      NodeRunStatus& status = statuses[node_id];
      status.images = pictures_of_node;
      touch(status);
    }
    for (const auto& [node_id, results] : result.results) {
      NodeRunStatus& status = statuses[node_id];
      status.results = results;
      touch(status);
    }
    // The gallery shows what the output nodes produced, with the files they wrote.
    for (const auto& node_id : plan.targets) {
      auto it = images.find(node_id);
      if (it == images.end()) continue;
      std::vector<std::string> files;
      if (auto r = result.results.find(node_id); r != result.results.end())
        for (const auto& entry : r->second)
          if (entry.is_object() && entry.contains("image") && entry["image"].is_string())
            files.push_back(entry["image"].get<std::string>());
      for (std::size_t i = 0; i < it->second.size(); ++i)
        gallery.push_front(GalleryImage{node_id, plan.run, it->second[i], i < files.size() ? files[i] : std::string()});
    }
    while (gallery.size() > options.gallery_limit) gallery.pop_back();
    ++revision;
  }

  void run(RunPlan plan) {
    RunReport outcome;
    outcome.run = plan.run;
    const auto start = std::chrono::steady_clock::now();
    try {
      RunOptions run_options;
      run_options.targets = plan.executor_targets;
      run_options.environment = options.environment;
      run_options.cancel = &cancel;
      run_options.on_event = [this](const NodeEvent& event) { on_event(event); };
      RunResult result = executor->run(plan.graph, run_options);
      collect(plan, result);
      outcome.phase = RunPhase::Finished;
      outcome.stats = result.stats;
    } catch (const Cancelled&) {
      outcome.phase = RunPhase::Cancelled;
      outcome.message = "cancelled";
    } catch (const ExecutionError& e) {
      outcome.phase = RunPhase::Failed;
      outcome.failed_node = e.node_id();
      outcome.message = e.what();
    } catch (const GraphError& e) {
      outcome.phase = RunPhase::Invalid;
      outcome.message = e.what();
      outcome.diagnostics = e.diagnostics();
    } catch (const std::exception& e) {
      outcome.phase = RunPhase::Failed;
      outcome.message = e.what();
    }
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::lock_guard lock(mutex);
    for (const auto& id : plan.involved) {
      NodeRunStatus& status = statuses[id];
      // Not needed (everything downstream was cached) or stopped by a cancel: nothing happened.
      if (status.state == NodeRunState::Queued || status.state == NodeRunState::Running) {
        if (outcome.phase == RunPhase::Cancelled && status.state == NodeRunState::Running) status.message = "cancelled";
        status.state = NodeRunState::Idle;
        status.step = status.total = 0;
        touch(status);
      }
    }
    if (outcome.phase == RunPhase::Invalid)
      for (const auto& d : outcome.diagnostics)
        if (!d.node_id.empty()) {
          NodeRunStatus& status = statuses[d.node_id];
          status.state = NodeRunState::Failed;
          status.problems.push_back(d.message);
          if (status.message.empty()) status.message = d.message;
          touch(status);
        }
    report = std::move(outcome);
    active = false;
    ++revision;
    finished.notify_all();
  }

  std::vector<Diagnostic> check(const Graph& graph, const std::vector<std::string>& targets) const {
    std::vector<Diagnostic> problems = validate_graph(graph, reg());
    if (problems.empty() && targets.empty()) {
      bool any = false;
      for (const auto& [id, node] : graph.nodes) {
        const NodeSpec* spec = reg().find_node(node.type);
        any = any || (!node.bypass && spec && spec->output_node);
      }
      if (!any)
        problems.push_back({"", "", "the graph has no output node (such as SaveImage or Display), so there is nothing to run"});
    }
    for (const auto& target : targets)
      if (!graph.find(target)) problems.push_back({"", target, "no node with this id to run"});
    return problems;
  }

  void record_problems(const std::vector<Diagnostic>& problems, bool as_failure) {
    std::lock_guard lock(mutex);
    for (auto& [id, status] : statuses) {
      if (status.problems.empty()) continue;
      // A node that failed only because it did not validate is no longer failed once checked again.
      if (status.state == NodeRunState::Failed) {
        status.state = NodeRunState::Idle;
        status.message.clear();
      }
      status.problems.clear();
      touch(status);
    }
    for (const auto& d : problems) {
      if (d.node_id.empty()) continue;
      NodeRunStatus& status = statuses[d.node_id];
      status.problems.push_back(d.message);
      if (as_failure) {
        status.state = NodeRunState::Failed;
        status.message = status.problems.front();
      }
      touch(status);
    }
  }
};

RunSession::RunSession(std::shared_ptr<const Registry> registry, RunSessionOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->registry = std::move(registry);
  if (impl_->registry) impl_->executor = std::make_unique<Executor>(*impl_->registry, impl_->options.cache_budget_bytes);
}

RunSession::~RunSession() {
  impl_->cancel.cancel();
  if (impl_->worker.joinable()) impl_->worker.join();
}

std::vector<Diagnostic> RunSession::validate(const Document& document) {
  auto problems = impl_->check(document.to_graph(), {});
  impl_->record_problems(problems, false);
  return problems;
}

bool RunSession::start(const Document& document, std::vector<std::string> targets) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->active) return false;
  }
  if (impl_->worker.joinable()) impl_->worker.join();

  RunPlan plan;
  plan.graph = document.to_graph();
  const std::vector<Diagnostic> problems = impl_->check(plan.graph, targets);
  impl_->record_problems(problems, true);
  if (!problems.empty() || !impl_->executor) {
    std::lock_guard lock(impl_->mutex);
    RunReport report;
    report.phase = RunPhase::Invalid;
    report.run = impl_->report.run + 1;
    report.diagnostics = problems;
    report.message = problems.empty() ? "no plugins are loaded" : GraphError("<document>", problems).what();
    impl_->report = std::move(report);
    ++impl_->revision;
    return false;
  }

  // The nodes the run involves, in the graph the executor will really run.
  std::vector<Diagnostic> ignored;
  const Graph resolved = resolve_bypass(plan.graph, impl_->reg(), ignored);
  if (targets.empty())
    for (const auto& [id, node] : resolved.nodes)
      if (const NodeSpec* spec = impl_->reg().find_node(node.type); spec && spec->output_node) targets.push_back(id);
  plan.targets = targets;
  std::vector<std::string> pending = targets;
  while (!pending.empty()) {
    const std::string id = pending.back();
    pending.pop_back();
    const GraphNode* node = resolved.find(id);
    if (!node || !plan.involved.insert(id).second) continue;
    for (const auto& [name, input] : node->inputs)
      if (const Link* link = std::get_if<Link>(&input)) pending.push_back(link->node);
  }
  const auto& picture_types = impl_->options.picture_types;
  auto is_picture = [&](const std::string& type) {
    return std::find(picture_types.begin(), picture_types.end(), type) != picture_types.end();
  };
  std::set<std::string> executor_targets(targets.begin(), targets.end());
  for (const auto& id : plan.involved) {
    const GraphNode& node = *resolved.find(id);
    const NodeSpec* spec = impl_->reg().find_node(node.type);
    if (std::any_of(spec->outputs.begin(), spec->outputs.end(), [&](const OutputSpec& o) { return is_picture(o.type); }))
      executor_targets.insert(id);
    if (!spec->output_node || !spec->outputs.empty()) continue;
    for (const auto& input : spec->inputs) {
      auto it = node.inputs.find(input.name);
      if (it == node.inputs.end() || !std::holds_alternative<Link>(it->second)) continue;
      const Link& link = std::get<Link>(it->second);
      const GraphNode* source = resolved.find(link.node);
      const NodeSpec* source_spec = source ? impl_->reg().find_node(source->type) : nullptr;
      const OutputSpec* output = source_spec ? source_spec->find_output(link.output) : nullptr;
      if (output && (is_picture(output->type) || output->type == builtin_types::kAny)) {
        plan.picture_inputs[id].push_back(link);
        executor_targets.insert(link.node);
      }
    }
  }
  plan.executor_targets.assign(executor_targets.begin(), executor_targets.end());

  {
    std::lock_guard lock(impl_->mutex);
    // Forget nodes the document no longer has; queue the ones this run involves.
    for (auto it = impl_->statuses.begin(); it != impl_->statuses.end();)
      it = document.node(it->first) ? std::next(it) : impl_->statuses.erase(it);
    for (auto& [id, status] : impl_->statuses) {
      if (plan.involved.count(id)) continue;
      if (status.state != NodeRunState::Idle || !status.message.empty()) {
        status.state = NodeRunState::Idle;
        status.message.clear();
        impl_->touch(status);
      }
    }
    for (const auto& id : plan.involved) {
      NodeRunStatus& status = impl_->statuses[id];
      status.state = NodeRunState::Queued;
      status.message.clear();
      status.warnings.clear();
      status.step = status.total = 0;
      status.seconds = 0;
      status.preview.reset();
      impl_->touch(status);
    }
    plan.run = impl_->report.run + 1;
    impl_->report = RunReport{};
    impl_->report.phase = RunPhase::Running;
    impl_->report.run = plan.run;
    impl_->active = true;
    ++impl_->revision;
  }
  impl_->cancel.reset();
  impl_->worker = std::thread([this, plan = std::move(plan)]() mutable { impl_->run(std::move(plan)); });
  return true;
}

void RunSession::cancel() { impl_->cancel.cancel(); }

bool RunSession::running() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->active;
}

bool RunSession::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  if (timeout == std::chrono::milliseconds::max()) {
    impl_->finished.wait(lock, [&] { return !impl_->active; });
    return true;
  }
  return impl_->finished.wait_for(lock, timeout, [&] { return !impl_->active; });
}

RunReport RunSession::last_report() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->report;
}

NodeRunStatus RunSession::node_status(std::string_view node_id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->statuses.find(std::string(node_id));
  return it == impl_->statuses.end() ? NodeRunStatus{} : it->second;
}

std::map<std::string, NodeRunStatus> RunSession::node_statuses() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->statuses;
}

std::vector<GalleryImage> RunSession::gallery() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->gallery.begin(), impl_->gallery.end()};
}

void RunSession::clear_gallery() {
  std::lock_guard lock(impl_->mutex);
  impl_->gallery.clear();
  ++impl_->revision;
}

void RunSession::clear_states() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->active) {
    // A running run keeps reporting into its nodes; only forget what it does not involve.
    for (auto& [id, status] : impl_->statuses) status.problems.clear();
  } else {
    impl_->statuses.clear();
  }
  ++impl_->revision;
}

std::uint64_t RunSession::revision() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->revision;
}

bool RunSession::set_registry(std::shared_ptr<const Registry> registry) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->active) return false;
  }
  if (impl_->worker.joinable()) impl_->worker.join();
  // The executor and the picture memo go first: cached values hold the old plugins' code.
  impl_->executor.reset();
  impl_->pictures.clear();
  impl_->registry = std::move(registry);
  if (impl_->registry) impl_->executor = std::make_unique<Executor>(*impl_->registry, impl_->options.cache_budget_bytes);
  std::lock_guard lock(impl_->mutex);
  ++impl_->revision;
  return true;
}

const std::shared_ptr<const Registry>& RunSession::registry() const { return impl_->registry; }

bool RunSession::clear_cache() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->active) return false;
  if (impl_->executor) impl_->executor->cache().clear();
  impl_->pictures.clear();
  return true;
}

std::size_t RunSession::cache_entries() const { return impl_->executor ? impl_->executor->cache().entries() : 0; }

bool RunSession::set_environment(Environment environment) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->active) return false;
  impl_->options.environment = std::move(environment);
  return true;
}

const RunSessionOptions& RunSession::options() const { return impl_->options; }

}  // namespace diffgraph::editor
