#include "diffgraph/executor.hpp"

#include <chrono>
#include <cstring>
#include <set>

#include "diffgraph/validation.hpp"
#include "signature.hpp"

namespace diffgraph {

const char* to_string(NodeEvent::Kind kind) {
  switch (kind) {
    case NodeEvent::Kind::Started: return "started";
    case NodeEvent::Kind::Progress: return "progress";
    case NodeEvent::Kind::Finished: return "finished";
    case NodeEvent::Kind::Cached: return "cached";
    case NodeEvent::Kind::Failed: return "failed";
    case NodeEvent::Kind::Warning: return "warning";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;

ValuePtr literal_value(const InputSpec& input, const Literal& literal) {
  if (input.type == builtin_types::kInt) return make_value<IntValue>(std::get<std::int64_t>(literal));
  if (input.type == builtin_types::kFloat) {
    if (auto i = std::get_if<std::int64_t>(&literal)) return make_value<FloatValue>(static_cast<double>(*i));
    return make_value<FloatValue>(std::get<double>(literal));
  }
  if (input.type == builtin_types::kString) return make_value<StringValue>(std::get<std::string>(literal));
  if (input.type == builtin_types::kBoolean) return make_value<BoolValue>(std::get<bool>(literal));
  return nullptr;  // validation rejects literals on other types
}

void hash_literal(SignatureHasher& hasher, const Literal& literal) {
  hasher.add_u64(literal.index());
  struct Visitor {
    SignatureHasher& h;
    void operator()(std::monostate) const {}
    void operator()(bool v) const { h.add_u64(v); }
    void operator()(std::int64_t v) const { h.add_u64(static_cast<std::uint64_t>(v)); }
    void operator()(double v) const {
      std::uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      h.add_u64(bits);
    }
    void operator()(const std::string& v) const { h.add_string(v); }
  };
  std::visit(Visitor{hasher}, literal);
}

// Ties a value's lifetime to the library that made it, so a plugin is never unloaded while
// one of its values (and so its vtable) is alive.
ValuePtr keep_library_alive(ValuePtr value, const std::shared_ptr<void>& library) {
  if (!library || !value) return value;
  struct Holder {
    std::shared_ptr<void> library;  // destroyed after the value
    ValuePtr value;
  };
  const Value* raw = value.get();
  auto holder = std::make_shared<Holder>(Holder{library, std::move(value)});
  return ValuePtr(std::move(holder), raw);
}

// The NodeContext a node sees while it runs.
class RunningNode final : public NodeContext {
 public:
  RunningNode(const GraphNode& node, const NodeSpec& spec, const RunOptions& options,
              const std::function<const std::string&()>& workflow)
      : node_(node), spec_(spec), options_(options), workflow_(workflow) {}

  const std::string& node_id() const override { return node_.id; }
  const NodeSpec& spec() const override { return spec_; }

  ValuePtr input(std::string_view name) const override {
    auto it = inputs_.find(name);
    if (it != inputs_.end()) return it->second;
    if (!spec_.find_input(name)) throw NodeError("the node has no input named '" + std::string(name) + "'");
    return nullptr;
  }

  void set_output(std::string_view name, ValuePtr value) override {
    const OutputSpec* output = spec_.find_output(name);
    if (!output) throw NodeError("the node has no output named '" + std::string(name) + "'");
    if (!value) throw NodeError("output '" + std::string(name) + "' was set to nothing");
    if (!types_compatible(value->type(), output->type))
      throw NodeError("output '" + std::string(name) + "' must be " + output->type + " but the node produced " +
                      std::string(value->type()));
    outputs_.values[std::string(name)] = keep_library_alive(std::move(value), spec_.library);
  }

  void progress(int step, int total, std::optional<PreviewImage> preview) override {
    if (options_.on_event) {
      NodeEvent event;
      event.kind = NodeEvent::Kind::Progress;
      event.node_id = node_.id;
      event.node_type = node_.type;
      event.step = step;
      event.total = total;
      event.preview = std::move(preview);
      options_.on_event(event);
    }
    throw_if_cancelled();
  }

  bool cancelled() const override { return options_.cancel && options_.cancel->cancelled(); }

  void warn(std::string message) override {
    if (options_.on_event) {
      NodeEvent event;
      event.kind = NodeEvent::Kind::Warning;
      event.node_id = node_.id;
      event.node_type = node_.type;
      event.message = message;
      options_.on_event(event);
    }
    outputs_.warnings.push_back(std::move(message));
  }

  const Environment& environment() const override { return options_.environment; }
  const std::string& workflow_json() const override { return workflow_(); }
  void add_result(const nlohmann::json& result) override { outputs_.results.push_back(result); }

  void set_input(const std::string& name, ValuePtr value) { inputs_[name] = std::move(value); }
  CachedOutputs take_outputs() { return std::move(outputs_); }
  const CachedOutputs& outputs() const { return outputs_; }

 private:
  const GraphNode& node_;
  const NodeSpec& spec_;
  const RunOptions& options_;
  const std::function<const std::string&()>& workflow_;
  std::map<std::string, ValuePtr, std::less<>> inputs_;
  CachedOutputs outputs_;
};

// Nodes the targets depend on, upstream first.
std::vector<const GraphNode*> upstream_order(const Graph& graph, const std::vector<std::string>& targets) {
  std::vector<const GraphNode*> order;
  std::set<std::string> visited;
  // Iterative post-order DFS: deep chains must not overflow the stack. Validation has
  // already rejected cycles.
  for (const auto& target : targets) {
    if (visited.count(target)) continue;
    std::vector<std::pair<const GraphNode*, bool>> stack{{graph.find(target), false}};
    while (!stack.empty()) {
      auto [node, expanded] = stack.back();
      stack.pop_back();
      if (expanded) {
        order.push_back(node);
        continue;
      }
      if (!visited.insert(node->id).second) continue;
      stack.push_back({node, true});
      for (auto it = node->inputs.rbegin(); it != node->inputs.rend(); ++it) {
        if (const Link* link = std::get_if<Link>(&it->second))
          if (!visited.count(link->node)) stack.push_back({graph.find(link->node), false});
      }
    }
  }
  return order;
}

}  // namespace

Executor::Executor(const Registry& registry, std::size_t cache_budget_bytes)
    : registry_(registry), cache_(cache_budget_bytes) {}

RunResult Executor::run(const Graph& workflow_graph, const RunOptions& options) {
  std::lock_guard run_lock(run_mutex_);
  const auto run_start = Clock::now();
  require_valid(workflow_graph, registry_);
  // Bypassed nodes are resolved away before anything else looks at the graph; the workflow
  // embedded in outputs stays the one the user wrote (bypass flags included).
  std::optional<Graph> resolved;
  if (has_bypassed_nodes(workflow_graph)) {
    std::vector<Diagnostic> ignored;  // require_valid has reported them already
    resolved = resolve_bypass(workflow_graph, registry_, ignored);
    for (const auto& target : options.targets)
      if (const GraphNode* node = workflow_graph.find(target); node && node->bypass)
        throw GraphError("<graph>", {Diagnostic{"", target, "node " + target + " is bypassed, so it cannot be run"}});
  }
  const Graph& graph = resolved ? *resolved : workflow_graph;

  std::vector<std::string> targets = options.targets;
  if (targets.empty()) {
    for (const auto& [id, node] : graph.nodes)
      if (registry_.find_node(node.type)->output_node) targets.push_back(id);
    if (targets.empty())
      throw GraphError("<graph>", {Diagnostic{"", "", "the graph has no output node, so there is nothing to run"}});
  }
  for (const auto& target : targets)
    if (!graph.find(target)) throw GraphError("<graph>", {Diagnostic{"", target, "no node with this id to run"}});

  auto emit = [&](NodeEvent::Kind kind, const GraphNode& node, std::string message = {}, double seconds = 0) {
    if (!options.on_event) return;
    NodeEvent event;
    event.kind = kind;
    event.node_id = node.id;
    event.node_type = node.type;
    event.message = std::move(message);
    event.seconds = seconds;
    options.on_event(event);
  };

  const std::vector<const GraphNode*> order = upstream_order(graph, targets);
  struct NodeState {
    const NodeSpec* spec = nullptr;
    Signature signature;
    bool needed = false;
    std::optional<CachedOutputs> outputs;
  };
  std::map<std::string, NodeState, std::less<>> states;

  // Signatures, upstream first: they depend only on the graph and fingerprints, so a cached
  // node's upstream never has to run just to compute one.
  for (const GraphNode* node : order) {
    NodeState& state = states[node->id];
    state.spec = registry_.find_node(node->type);
    SignatureHasher hasher;
    hasher.add_string(node->type);
    hasher.add_u64(static_cast<std::uint64_t>(state.spec->version));
    std::map<std::string, Literal> literals;
    for (const auto& input : state.spec->inputs) {
      auto it = node->inputs.find(input.name);
      hasher.add_string(input.name);
      if (it == node->inputs.end()) {
        hasher.add_u64(0);
        if (input.widget) {
          hash_literal(hasher, input.default_value);
          literals[input.name] = input.default_value;
        }
      } else if (const Link* link = std::get_if<Link>(&it->second)) {
        hasher.add_u64(1);
        hasher.add(states.at(link->node).signature);
        hasher.add_string(link->output);
      } else {
        hasher.add_u64(2);
        hash_literal(hasher, std::get<Literal>(it->second));
        literals[input.name] = std::get<Literal>(it->second);
      }
    }
    if (state.spec->fingerprint) {
      try {
        hasher.add_string(state.spec->fingerprint(literals, options.environment));
      } catch (const std::exception& e) {
        emit(NodeEvent::Kind::Failed, *node, e.what());
        throw ExecutionError(node->id, node->type, e.what());
      }
    }
    state.signature = hasher.finish();
  }

  // What must run: walk downstream-first from the targets; a cache hit cuts off its upstream.
  RunResult result;
  for (const auto& target : targets) states.at(target).needed = true;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const GraphNode* node = *it;
    NodeState& state = states.at(node->id);
    if (!state.needed) continue;
    state.outputs = cache_.find(state.signature);
    if (state.outputs) continue;
    for (const auto& [name, input] : node->inputs)
      if (const Link* link = std::get_if<Link>(&input)) states.at(link->node).needed = true;
  }

  std::optional<std::string> workflow_text;
  const std::function<const std::string&()> workflow = [&]() -> const std::string& {
    if (!workflow_text) workflow_text = serialize_graph(workflow_graph);
    return *workflow_text;
  };

  for (const GraphNode* node : order) {
    NodeState& state = states.at(node->id);
    if (!state.needed) continue;
    // An identical node earlier in this run may have just filled the entry.
    if (!state.outputs) state.outputs = cache_.find(state.signature);
    if (state.outputs) {
      result.stats.cached.push_back(node->id);
      emit(NodeEvent::Kind::Cached, *node);
      continue;
    }
    if (options.cancel && options.cancel->cancelled()) throw Cancelled();

    RunningNode context(*node, *state.spec, options, workflow);
    for (const auto& input : state.spec->inputs) {
      auto it = node->inputs.find(input.name);
      if (it == node->inputs.end()) {
        if (input.widget && !std::holds_alternative<std::monostate>(input.default_value))
          context.set_input(input.name, literal_value(input, input.default_value));
      } else if (const Link* link = std::get_if<Link>(&it->second)) {
        context.set_input(input.name, states.at(link->node).outputs->values.at(link->output));
      } else {
        context.set_input(input.name, literal_value(input, std::get<Literal>(it->second)));
      }
    }

    emit(NodeEvent::Kind::Started, *node);
    const auto start = Clock::now();
    std::string failure;
    try {
      state.spec->execute(context);
      for (const auto& output : state.spec->outputs)
        if (!context.outputs().values.count(output.name))
          throw NodeError("the node did not set its output '" + output.name + "'");
    } catch (const Cancelled&) {
      throw;
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (!failure.empty()) {
      result.stats.failed.push_back(node->id);
      emit(NodeEvent::Kind::Failed, *node, failure);
      throw ExecutionError(node->id, node->type, failure);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    state.outputs = context.take_outputs();
    cache_.insert(state.signature, *state.outputs);
    result.stats.executed.push_back(node->id);
    emit(NodeEvent::Kind::Finished, *node, {}, seconds);
  }

  for (const GraphNode* node : order) {
    const NodeState& state = states.at(node->id);
    if (!state.needed || !state.outputs) continue;
    if (!state.outputs->results.empty()) result.results[node->id] = state.outputs->results;
    if (!state.outputs->warnings.empty()) result.warnings[node->id] = state.outputs->warnings;
  }
  for (const auto& target : targets) result.outputs[target] = states.at(target).outputs->values;
  result.stats.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  return result;
}

}  // namespace diffgraph
