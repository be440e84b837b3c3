// The document: queries, edit commands and the undo stack (see document_impl.hpp for how undo
// records item-level deltas).
#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <sstream>

#include <diffgraph/graph.hpp>

#include "diffgraph/editor/node_search.hpp"
#include "diffgraph/editor/workflow_files.hpp"
#include "document_impl.hpp"

namespace diffgraph::editor {

namespace {

constexpr float kNodeWidth = 220;
constexpr float kTitleHeight = 30;
constexpr float kRowHeight = 24;
constexpr float kRerouteRadius = 8;

std::string in_quotes(std::string_view text) { return "'" + std::string(text) + "'"; }

// Records the states before/after of one item kind for the current step.
template <class T>
void touch(ItemDeltas<T>& deltas, const std::map<std::string, T>& items, const std::string& id) {
  if (deltas.count(id)) return;
  auto it = items.find(id);
  deltas[id].first = it == items.end() ? std::nullopt : std::optional<T>(it->second);
}

template <class T>
void finish(ItemDeltas<T>& deltas, const std::map<std::string, T>& items) {
  for (auto it = deltas.begin(); it != deltas.end();) {
    auto found = items.find(it->first);
    it->second.second = found == items.end() ? std::nullopt : std::optional<T>(found->second);
    if (it->second.first == it->second.second) it = deltas.erase(it);
    else ++it;
  }
}

template <class T>
void apply(const ItemDeltas<T>& deltas, std::map<std::string, T>& items, bool use_before) {
  for (const auto& [id, change] : deltas) {
    const std::optional<T>& state = use_before ? change.first : change.second;
    if (state) items[id] = *state;
    else items.erase(id);
  }
}

// Folds `later` into `earlier` (earlier's befores, later's afters), dropping no-op pairs.
template <class T>
void fold(ItemDeltas<T>& earlier, const ItemDeltas<T>& later) {
  for (const auto& [id, change] : later) {
    auto it = earlier.find(id);
    if (it == earlier.end()) earlier[id] = change;
    else it->second.second = change.second;
  }
  for (auto it = earlier.begin(); it != earlier.end();) {
    if (it->second.first == it->second.second) it = earlier.erase(it);
    else ++it;
  }
}

// One command: a step of its own unless inside an EditGroup; undone if the command throws.
class Edit {
 public:
  Edit(Document::Impl& impl, std::string label, MergeKey merge = 0)
      : impl_(impl), exceptions_(std::uncaught_exceptions()) {
    impl_.begin(std::move(label), merge);
  }
  ~Edit() {
    if (std::uncaught_exceptions() > exceptions_) impl_.rollback();
    else impl_.commit();
  }

 private:
  Document::Impl& impl_;
  int exceptions_;
};

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace

// ==================================================================== transactions

void Document::Impl::begin(std::string label, MergeKey merge) {
  if (depth++ > 0) return;
  current = UndoStep{};
  current.label = std::move(label);
  current.merge = merge;
}

void Document::Impl::commit() {
  if (--depth > 0) return;
  finish(current.nodes, state.nodes);
  finish(current.reroutes, state.reroutes);
  finish(current.notes, state.notes);
  finish(current.groups, state.groups);
  if (current.extra) {
    current.extra->second = state.extra;
    if (current.extra->first == current.extra->second) current.extra.reset();
  }
  if (current.empty()) {
    // Nothing changed, but a gesture that ends up where it started must not merge with a later one.
    if (current.merge == 0) merge_open = false;
    return;
  }
  redo.clear();
  const bool can_merge = current.merge != 0 && merge_open && !undo.empty() && undo.back().merge == current.merge &&
                         undo.back().serial != saved_serial;
  if (can_merge) {
    UndoStep& top = undo.back();
    fold(top.nodes, current.nodes);
    fold(top.reroutes, current.reroutes);
    fold(top.notes, current.notes);
    fold(top.groups, current.groups);
    if (current.extra) {
      if (top.extra) top.extra->second = current.extra->second;
      else top.extra = current.extra;
      if (top.extra->first == top.extra->second) top.extra.reset();
    }
    // A drag that came back to where it started leaves no step behind.
    if (top.empty()) undo.pop_back();
  } else {
    current.serial = next_serial++;
    undo.push_back(std::move(current));
  }
  merge_open = current.merge != 0;
  changed_content();
}

void Document::Impl::rollback() {
  if (--depth > 0) return;
  apply(current.nodes, state.nodes, true);
  apply(current.reroutes, state.reroutes, true);
  apply(current.notes, state.notes, true);
  apply(current.groups, state.groups, true);
  if (current.extra) state.extra = current.extra->first;
  current = UndoStep{};
  ++revision;
}

void Document::Impl::touch_node(const std::string& id) { touch(current.nodes, state.nodes, id); }
void Document::Impl::touch_reroute(const std::string& id) { touch(current.reroutes, state.reroutes, id); }
void Document::Impl::touch_note(const std::string& id) { touch(current.notes, state.notes, id); }
void Document::Impl::touch_group(const std::string& id) { touch(current.groups, state.groups, id); }

DocNode& Document::Impl::node(const std::string& id) {
  auto it = state.nodes.find(id);
  if (it == state.nodes.end()) throw EditError("no node " + in_quotes(id) + " in the document");
  touch_node(id);
  return it->second;
}
Reroute& Document::Impl::reroute(const std::string& id) {
  auto it = state.reroutes.find(id);
  if (it == state.reroutes.end()) throw EditError("no reroute " + in_quotes(id) + " in the document");
  touch_reroute(id);
  return it->second;
}
Note& Document::Impl::note(const std::string& id) {
  auto it = state.notes.find(id);
  if (it == state.notes.end()) throw EditError("no note " + in_quotes(id) + " in the document");
  touch_note(id);
  return it->second;
}
Group& Document::Impl::group(const std::string& id) {
  auto it = state.groups.find(id);
  if (it == state.groups.end()) throw EditError("no group " + in_quotes(id) + " in the document");
  touch_group(id);
  return it->second;
}
void Document::Impl::put(DocNode value) {
  touch_node(value.id);
  state.nodes[value.id] = std::move(value);
}
void Document::Impl::put(Reroute value) {
  touch_reroute(value.id);
  state.reroutes[value.id] = std::move(value);
}
void Document::Impl::put(Note value) {
  touch_note(value.id);
  state.notes[value.id] = std::move(value);
}
void Document::Impl::put(Group value) {
  touch_group(value.id);
  state.groups[value.id] = std::move(value);
}
void Document::Impl::erase_node(const std::string& id) {
  touch_node(id);
  state.nodes.erase(id);
}
void Document::Impl::erase_reroute(const std::string& id) {
  touch_reroute(id);
  state.reroutes.erase(id);
}
void Document::Impl::erase_note(const std::string& id) {
  touch_note(id);
  state.notes.erase(id);
}
void Document::Impl::erase_group(const std::string& id) {
  touch_group(id);
  state.groups.erase(id);
}
nlohmann::json& Document::Impl::extra() {
  if (!current.extra) current.extra.emplace(state.extra, nlohmann::json());
  return state.extra;
}

void Document::Impl::prune_selection() {
  for (auto it = selection.begin(); it != selection.end();) {
    bool exists = false;
    switch (it->kind) {
      case ItemKind::Node: exists = state.nodes.count(it->id) > 0; break;
      case ItemKind::Reroute: exists = state.reroutes.count(it->id) > 0; break;
      case ItemKind::Note: exists = state.notes.count(it->id) > 0; break;
      case ItemKind::Group: exists = state.groups.count(it->id) > 0; break;
    }
    it = exists ? std::next(it) : selection.erase(it);
  }
}

IdAllocator::IdAllocator(const DocumentState& state) {
  auto consider = [this](const std::string& id) {
    if (id.empty() || id.size() > 18 || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return;
    next_ = std::max<std::uint64_t>(next_, std::stoull(id) + 1);
  };
  for (const auto& [id, _] : state.nodes) consider(id);
  for (const auto& [id, _] : state.reroutes) consider(id);
  for (const auto& [id, _] : state.notes) consider(id);
  for (const auto& [id, _] : state.groups) consider(id);
}

std::string IdAllocator::next() { return std::to_string(next_++); }

// ==================================================================== wiring internals

std::optional<Link> Document::Impl::resolve(const OutputPin& pin) const { return resolve_in(state, pin); }

std::string Document::Impl::output_type(const OutputPin& pin) const {
  if (pin.is_reroute()) {
    if (!state.reroutes.count(pin.item)) return "";
    auto link = resolve(pin);
    if (!link) return std::string(builtin_types::kAny);
    return output_type(OutputPin{link->node, link->output});
  }
  auto it = state.nodes.find(pin.item);
  if (it == state.nodes.end()) return "";
  const NodeSpec* spec = spec_of(it->second);
  const OutputSpec* output = spec ? spec->find_output(pin.output) : nullptr;
  return output ? output->type : "";
}

std::string Document::Impl::input_type(const InputPin& pin) const {
  if (pin.is_reroute()) return state.reroutes.count(pin.item) ? std::string(builtin_types::kAny) : "";
  auto it = state.nodes.find(pin.item);
  if (it == state.nodes.end()) return "";
  const NodeSpec* spec = spec_of(it->second);
  const InputSpec* input = spec ? spec->find_input(pin.input) : nullptr;
  return input ? input->type : "";
}

std::vector<InputPin> Document::Impl::inputs_behind_reroute(const std::string& id) const {
  std::vector<InputPin> out;
  std::set<std::string> reroutes{id};
  std::vector<std::string> pending{id};
  while (!pending.empty()) {
    const std::string r = pending.back();
    pending.pop_back();
    for (const auto& [rid, reroute] : state.reroutes)
      if (reroute.from && reroute.from->is_reroute() && reroute.from->item == r && reroutes.insert(rid).second)
        pending.push_back(rid);
  }
  for (const auto& [nid, node] : state.nodes)
    for (const auto& [input, via] : node.via)
      if (reroutes.count(via)) out.push_back({nid, input});
  return out;
}

void Document::Impl::propagate(const std::string& reroute_id) {
  const auto link = resolve(OutputPin{reroute_id, ""});
  for (const auto& pin : inputs_behind_reroute(reroute_id)) {
    const DocNode& current_node = state.nodes.at(pin.item);
    // The input's own reroute may differ (a chain): what matters is the chain's start, which
    // is the same for every input behind this reroute.
    auto it = current_node.inputs.find(pin.input);
    const bool same = link ? (it != current_node.inputs.end() && std::holds_alternative<Link>(it->second) &&
                              std::get<Link>(it->second) == *link)
                           : it == current_node.inputs.end();
    if (same) continue;
    DocNode& n = node(pin.item);
    if (link) n.inputs[pin.input] = *link;
    else n.inputs.erase(pin.input);
  }
}

void Document::Impl::clear_input(const std::string& node_id, const std::string& input) {
  DocNode& n = node(node_id);
  n.via.erase(input);
  n.inputs.erase(input);
  const NodeSpec* spec = spec_of(n);
  const InputSpec* in = spec ? spec->find_input(input) : nullptr;
  if (in && in->widget && !std::holds_alternative<std::monostate>(in->default_value)) n.inputs[input] = in->default_value;
}

std::set<std::string> Document::Impl::downstream_nodes(const std::set<std::string>& from) const {
  std::map<std::string, std::vector<std::string>> consumers;
  for (const auto& [id, node] : state.nodes)
    for (const auto& [name, input] : node.inputs)
      if (const Link* link = std::get_if<Link>(&input)) consumers[link->node].push_back(id);
  std::set<std::string> out = from;
  std::vector<std::string> pending(from.begin(), from.end());
  while (!pending.empty()) {
    const std::string id = pending.back();
    pending.pop_back();
    for (const auto& next : consumers[id])
      if (out.insert(next).second) pending.push_back(next);
  }
  return out;
}

ConnectionCheck Document::Impl::check(const OutputPin& from, const InputPin& to) const {
  auto refuse = [](std::string reason) { return ConnectionCheck{false, std::move(reason)}; };
  // The start of the wire.
  if (from.is_reroute()) {
    if (!state.reroutes.count(from.item)) return refuse("no reroute " + in_quotes(from.item));
  } else {
    auto it = state.nodes.find(from.item);
    if (it == state.nodes.end()) return refuse("no node " + in_quotes(from.item));
    const NodeSpec* spec = spec_of(it->second);
    if (!spec) return refuse("node " + from.item + " has a missing type (" + it->second.type + ")");
    if (!spec->find_output(from.output)) return refuse(it->second.type + " has no output " + in_quotes(from.output));
  }
  const std::string type = output_type(from);

  // The end of the wire, the nodes it feeds and the types they accept.
  std::set<std::string> fed_nodes;
  std::vector<InputPin> fed_inputs;
  if (to.is_reroute()) {
    if (!state.reroutes.count(to.item)) return refuse("no reroute " + in_quotes(to.item));
    if (from.is_reroute()) {
      // A reroute may not feed itself through a loop of reroutes.
      OutputPin at = from;
      std::set<std::string> seen;
      while (at.is_reroute()) {
        if (at.item == to.item) return refuse("the reroutes would form a loop");
        auto it = state.reroutes.find(at.item);
        if (it == state.reroutes.end() || !it->second.from || !seen.insert(at.item).second) break;
        at = *it->second.from;
      }
    }
    fed_inputs = inputs_behind_reroute(to.item);
  } else {
    auto it = state.nodes.find(to.item);
    if (it == state.nodes.end()) return refuse("no node " + in_quotes(to.item));
    const NodeSpec* spec = spec_of(it->second);
    if (!spec) return refuse("node " + to.item + " has a missing type (" + it->second.type + ")");
    const InputSpec* input = spec->find_input(to.input);
    if (!input) return refuse(it->second.type + " has no input " + in_quotes(to.input));
    fed_inputs.push_back(to);
  }
  for (const auto& pin : fed_inputs) {
    fed_nodes.insert(pin.item);
    const std::string accepts = input_type(pin);
    if (!pin_types_compatible(type, accepts)) {
      const std::string where = to.is_reroute() ? " (input " + pin.input + " of node " + pin.item + ", behind the reroute)" : "";
      return refuse(input_type(pin) + " input " + in_quotes(pin.input) + " does not accept " + type + where);
    }
  }
  // Cycles: the source node may not be downstream of (or be) a node the wire feeds.
  if (auto source = resolve(from); source && !fed_nodes.empty()) {
    if (downstream_nodes(fed_nodes).count(source->node)) return refuse("the wire would make a cycle");
  }
  return {true, {}};
}

void Document::Impl::wire(const OutputPin& from, const InputPin& to) {
  if (to.is_reroute()) {
    reroute(to.item).from = from;
    propagate(to.item);
    return;
  }
  DocNode& n = node(to.item);
  const auto link = resolve(from);
  if (link) n.inputs[to.input] = *link;
  else n.inputs.erase(to.input);
  if (from.is_reroute()) n.via[to.input] = from.item;
  else n.via.erase(to.input);
}

Vec2 Document::Impl::node_size(const DocNode& node, const std::function<Vec2(const DocNode&)>& measured) const {
  if (measured) return measured(node);
  return estimated_node_size(node, spec_of(node));
}

Rect Document::Impl::item_rect(const ItemRef& item, const std::function<Vec2(const DocNode&)>& measured) const {
  switch (item.kind) {
    case ItemKind::Node: {
      const DocNode& n = state.nodes.at(item.id);
      return {n.pos, node_size(n, measured)};
    }
    case ItemKind::Reroute: {
      const Reroute& r = state.reroutes.at(item.id);
      return {r.pos - Vec2{kRerouteRadius, kRerouteRadius}, {2 * kRerouteRadius, 2 * kRerouteRadius}};
    }
    case ItemKind::Note: return state.notes.at(item.id).rect;
    case ItemKind::Group: return state.groups.at(item.id).rect;
  }
  return {};
}

// ==================================================================== free functions

Vec2 estimated_node_size(const DocNode& node, const NodeSpec* spec) {
  if (node.collapsed) return {160, kTitleHeight};
  if (node.size) return *node.size;
  if (!spec) return {kNodeWidth, kTitleHeight + kRowHeight * std::max<std::size_t>(1, node.inputs.size())};
  std::size_t links = 0, widgets = 0;
  for (const auto& input : spec->inputs) {
    if (!input.widget) ++links;
    else widgets += input.multiline ? 4 : 1;
  }
  const std::size_t rows = std::max(links, spec->outputs.size()) + widgets;
  return {kNodeWidth, kTitleHeight + kRowHeight * static_cast<float>(std::max<std::size_t>(rows, 1)) + 8};
}

// ==================================================================== Document: lifetime, registry

Document::Document(std::shared_ptr<const Registry> registry) : impl_(std::make_unique<Impl>()) {
  impl_->registry = std::move(registry);
}
Document::~Document() = default;
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;

void Document::set_registry(std::shared_ptr<const Registry> registry) {
  impl_->registry = std::move(registry);
  ++impl_->revision;
}
const std::shared_ptr<const Registry>& Document::registry() const { return impl_->registry; }

const NodeSpec* Document::spec(std::string_view node_id) const {
  const DocNode* n = node(node_id);
  return n ? impl_->spec_of(*n) : nullptr;
}

bool Document::is_missing(std::string_view node_id) const {
  const DocNode* n = node(node_id);
  return n && !impl_->spec_of(*n);
}

std::vector<std::string> Document::missing_nodes() const {
  std::vector<std::string> out;
  for (const auto& [id, n] : impl_->state.nodes)
    if (!impl_->spec_of(n)) out.push_back(id);
  return out;
}

// ==================================================================== files

void Document::clear() { load(Graph{}); }

void Document::load(const Graph& graph, std::filesystem::path path, bool dirty) {
  DocumentState state = state_from_graph(graph, impl_->registry.get());
  impl_->state = std::move(state);
  impl_->path = std::move(path);
  impl_->suggested_path.clear();
  impl_->selection.clear();
  impl_->undo.clear();
  impl_->redo.clear();
  impl_->merge_open = false;
  // A restored backup is dirty: no step can ever have this serial.
  impl_->saved_serial = dirty ? std::numeric_limits<std::uint64_t>::max() : 0;
  impl_->changed_content();
}

void Document::open(const std::filesystem::path& path) {
  const std::filesystem::path absolute = std::filesystem::absolute(path);
  std::ifstream in(absolute, std::ios::binary);
  if (!in) throw Error("cannot open " + absolute.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string data = bytes.str();
  const std::span<const std::byte> view(reinterpret_cast<const std::byte*>(data.data()), data.size());
  if (is_png(view)) {
    Graph graph = parse_graph(png_workflow_text(view, absolute.string()), absolute.string());
    load(graph);
    std::filesystem::path suggestion = absolute;
    impl_->suggested_path = suggestion.replace_extension(".json");
  } else {
    load(parse_graph(data, absolute.string()), absolute);
  }
}

void Document::save() {
  if (impl_->path.empty()) throw Error("the document has no file yet: use Save As");
  write_file_atomically(impl_->path, to_json());
  mark_saved();
}

void Document::save_as(const std::filesystem::path& path) {
  const std::filesystem::path absolute = std::filesystem::absolute(path);
  write_file_atomically(absolute, to_json());
  impl_->path = absolute;
  impl_->suggested_path.clear();
  mark_saved();
}

const std::filesystem::path& Document::path() const { return impl_->path; }

std::filesystem::path Document::suggested_path() const {
  return impl_->suggested_path.empty() ? impl_->path : impl_->suggested_path;
}

std::string Document::title() const {
  std::string name = impl_->path.empty() ? "Untitled" : impl_->path.filename().string();
  return dirty() ? name + "*" : name;
}

Graph Document::to_graph() const { return graph_from_state(impl_->state); }
std::string Document::to_json() const { return serialize_graph(to_graph()); }

bool Document::dirty() const { return impl_->top_serial() != impl_->saved_serial; }

void Document::mark_saved() {
  impl_->saved_serial = impl_->top_serial();
  impl_->merge_open = false;
  ++impl_->revision;
}

std::uint64_t Document::revision() const { return impl_->revision; }
std::uint64_t Document::content_revision() const { return impl_->content_revision; }

// ==================================================================== reading

const std::map<std::string, DocNode>& Document::nodes() const { return impl_->state.nodes; }
const std::map<std::string, Reroute>& Document::reroutes() const { return impl_->state.reroutes; }
const std::map<std::string, Note>& Document::notes() const { return impl_->state.notes; }
const std::map<std::string, Group>& Document::groups() const { return impl_->state.groups; }

template <class T>
static std::vector<const T*> in_order(const std::map<std::string, T>& items) {
  std::vector<const T*> out;
  for (const auto& [id, item] : items) out.push_back(&item);
  std::stable_sort(out.begin(), out.end(), [](const T* a, const T* b) { return a->order < b->order; });
  return out;
}
std::vector<const Group*> Document::groups_in_order() const { return in_order(impl_->state.groups); }
std::vector<const Note*> Document::notes_in_order() const { return in_order(impl_->state.notes); }

template <class T>
static const T* find_in(const std::map<std::string, T>& items, std::string_view id) {
  auto it = items.find(std::string(id));
  return it == items.end() ? nullptr : &it->second;
}
const DocNode* Document::node(std::string_view id) const { return find_in(impl_->state.nodes, id); }
const Reroute* Document::reroute(std::string_view id) const { return find_in(impl_->state.reroutes, id); }
const Note* Document::note(std::string_view id) const { return find_in(impl_->state.notes, id); }
const Group* Document::group(std::string_view id) const { return find_in(impl_->state.groups, id); }

bool Document::contains(const ItemRef& item) const {
  switch (item.kind) {
    case ItemKind::Node: return node(item.id) != nullptr;
    case ItemKind::Reroute: return reroute(item.id) != nullptr;
    case ItemKind::Note: return note(item.id) != nullptr;
    case ItemKind::Group: return group(item.id) != nullptr;
  }
  return false;
}

Vec2 Document::position(const ItemRef& item) const {
  if (!contains(item)) throw EditError("no item " + in_quotes(item.id) + " in the document");
  switch (item.kind) {
    case ItemKind::Node: return node(item.id)->pos;
    case ItemKind::Reroute: return reroute(item.id)->pos;
    case ItemKind::Note: return note(item.id)->rect.pos;
    case ItemKind::Group: return group(item.id)->rect.pos;
  }
  return {};
}

const nlohmann::json& Document::extra() const { return impl_->state.extra; }
const ViewState& Document::view() const { return impl_->state.view; }

std::vector<Wire> Document::wires() const {
  std::vector<Wire> out;
  for (const auto& [id, n] : impl_->state.nodes) {
    for (const auto& [name, input] : n.inputs) {
      if (n.via.count(name)) continue;
      if (const Link* link = std::get_if<Link>(&input)) {
        if (!impl_->state.nodes.count(link->node)) continue;
        OutputPin from{link->node, link->output};
        out.push_back({from, {id, name}, impl_->output_type(from)});
      }
    }
    for (const auto& [name, via] : n.via) {
      if (!impl_->state.reroutes.count(via)) continue;
      OutputPin from{via, ""};
      out.push_back({from, {id, name}, impl_->output_type(from)});
    }
  }
  for (const auto& [id, r] : impl_->state.reroutes)
    if (r.from && contains(r.from->is_reroute() ? ItemRef::reroute(r.from->item) : ItemRef::node(r.from->item)))
      out.push_back({*r.from, {id, ""}, impl_->output_type(*r.from)});
  std::sort(out.begin(), out.end(), [](const Wire& a, const Wire& b) { return a.to < b.to; });
  return out;
}

std::optional<OutputPin> Document::source_of(const InputPin& pin) const {
  if (pin.is_reroute()) {
    const Reroute* r = reroute(pin.item);
    return r ? r->from : std::nullopt;
  }
  const DocNode* n = node(pin.item);
  if (!n) return std::nullopt;
  if (auto via = n->via.find(pin.input); via != n->via.end()) return OutputPin{via->second, ""};
  auto it = n->inputs.find(pin.input);
  if (it == n->inputs.end()) return std::nullopt;
  if (const Link* link = std::get_if<Link>(&it->second)) return OutputPin{link->node, link->output};
  return std::nullopt;
}

std::optional<Link> Document::resolve(const OutputPin& pin) const { return impl_->resolve(pin); }

std::vector<InputPin> Document::targets_of(const OutputPin& pin) const {
  std::vector<InputPin> out;
  for (const auto& wire : wires())
    if (wire.from == pin) out.push_back(wire.to);
  return out;
}

std::string Document::output_type(const OutputPin& pin) const { return impl_->output_type(pin); }
std::string Document::input_type(const InputPin& pin) const { return impl_->input_type(pin); }

Literal Document::input_literal(std::string_view node_id, std::string_view input) const {
  const DocNode* n = node(node_id);
  if (!n) return {};
  if (auto it = n->inputs.find(std::string(input)); it != n->inputs.end()) {
    if (const Literal* literal = std::get_if<Literal>(&it->second)) return *literal;
    return {};
  }
  if (n->via.count(std::string(input))) return {};
  const NodeSpec* s = impl_->spec_of(*n);
  const InputSpec* in = s ? s->find_input(input) : nullptr;
  return in && in->widget ? in->default_value : Literal{};
}

bool Document::is_connected(const InputPin& pin) const { return source_of(pin).has_value(); }

ConnectionCheck Document::check_connection(const OutputPin& from, const InputPin& to) const {
  return impl_->check(from, to);
}

std::vector<ItemRef> Document::items_in_rect(const Rect& rect, bool whole,
                                             const std::function<Vec2(const DocNode&)>& node_size) const {
  std::vector<ItemRef> out;
  auto consider = [&](const ItemRef& item, bool must_be_whole) {
    const Rect r = impl_->item_rect(item, node_size);
    if (whole || must_be_whole ? rect.contains(r) : rect.overlaps(r)) out.push_back(item);
  };
  for (const auto& [id, _] : impl_->state.nodes) consider(ItemRef::node(id), false);
  for (const auto& [id, _] : impl_->state.reroutes) consider(ItemRef::reroute(id), false);
  for (const auto& [id, _] : impl_->state.notes) consider(ItemRef::note(id), false);
  // A box drawn inside a group must not pick the group itself.
  for (const auto& [id, _] : impl_->state.groups) consider(ItemRef::group(id), true);
  return out;
}

std::vector<ItemRef> Document::group_contents(std::string_view group_id,
                                              const std::function<Vec2(const DocNode&)>& node_size) const {
  const Group* g = group(group_id);
  if (!g) throw EditError("no group " + in_quotes(group_id) + " in the document");
  std::vector<ItemRef> out;
  auto centre_inside = [&](const ItemRef& item) {
    const Rect r = impl_->item_rect(item, node_size);
    return g->rect.contains(r.pos + r.size * 0.5f);
  };
  for (const auto& [id, _] : impl_->state.nodes)
    if (centre_inside(ItemRef::node(id))) out.push_back(ItemRef::node(id));
  for (const auto& [id, _] : impl_->state.reroutes)
    if (centre_inside(ItemRef::reroute(id))) out.push_back(ItemRef::reroute(id));
  for (const auto& [id, _] : impl_->state.notes)
    if (centre_inside(ItemRef::note(id))) out.push_back(ItemRef::note(id));
  for (const auto& [id, other] : impl_->state.groups)
    if (id != g->id && g->rect.contains(other.rect) && !(other.rect == g->rect)) out.push_back(ItemRef::group(id));
  return out;
}

std::optional<Rect> Document::bounds(const std::vector<ItemRef>& items,
                                     const std::function<Vec2(const DocNode&)>& node_size) const {
  std::vector<ItemRef> all = items;
  if (all.empty()) {
    for (const auto& [id, _] : impl_->state.nodes) all.push_back(ItemRef::node(id));
    for (const auto& [id, _] : impl_->state.reroutes) all.push_back(ItemRef::reroute(id));
    for (const auto& [id, _] : impl_->state.notes) all.push_back(ItemRef::note(id));
    for (const auto& [id, _] : impl_->state.groups) all.push_back(ItemRef::group(id));
  }
  std::optional<Rect> out;
  for (const auto& item : all) {
    if (!contains(item)) continue;
    const Rect r = impl_->item_rect(item, node_size);
    if (!out) {
      out = r;
      continue;
    }
    const Vec2 lo{std::min(out->pos.x, r.pos.x), std::min(out->pos.y, r.pos.y)};
    const Vec2 hi{std::max(out->max().x, r.max().x), std::max(out->max().y, r.max().y)};
    out = Rect{lo, hi - lo};
  }
  return out;
}

// ==================================================================== selection and view

const std::set<ItemRef>& Document::selection() const { return impl_->selection; }
std::vector<ItemRef> Document::selected_items() const { return {impl_->selection.begin(), impl_->selection.end()}; }
bool Document::is_selected(const ItemRef& item) const { return impl_->selection.count(item) > 0; }

void Document::select(const ItemRef& item, bool add) { select(std::vector<ItemRef>{item}, add); }

void Document::select(const std::vector<ItemRef>& items, bool add) {
  if (!add) impl_->selection.clear();
  for (const auto& item : items)
    if (contains(item)) impl_->selection.insert(item);
  ++impl_->revision;
}

void Document::deselect(const ItemRef& item) {
  impl_->selection.erase(item);
  ++impl_->revision;
}

void Document::toggle_selected(const ItemRef& item) {
  if (!impl_->selection.erase(item) && contains(item)) impl_->selection.insert(item);
  ++impl_->revision;
}

void Document::select_all() {
  impl_->selection.clear();
  for (const auto& [id, _] : impl_->state.nodes) impl_->selection.insert(ItemRef::node(id));
  for (const auto& [id, _] : impl_->state.reroutes) impl_->selection.insert(ItemRef::reroute(id));
  for (const auto& [id, _] : impl_->state.notes) impl_->selection.insert(ItemRef::note(id));
  for (const auto& [id, _] : impl_->state.groups) impl_->selection.insert(ItemRef::group(id));
  ++impl_->revision;
}

void Document::clear_selection() {
  impl_->selection.clear();
  ++impl_->revision;
}

void Document::set_view(const ViewState& view) {
  if (impl_->state.view == view) return;
  impl_->state.view = view;
  ++impl_->revision;
}

// ==================================================================== edit commands

std::string Document::add_node(std::string_view type, Vec2 pos) {
  const NodeSpec* s = impl_->registry ? impl_->registry->find_node(type) : nullptr;
  if (!s) throw EditError("unknown node type " + in_quotes(type));
  Edit edit(*impl_, "Add " + display_name(*s));
  DocNode n;
  n.id = IdAllocator(impl_->state).next();
  n.type = std::string(type);
  n.pos = pos;
  for (const auto& input : s->inputs)
    if (input.widget && !std::holds_alternative<std::monostate>(input.default_value))
      n.inputs[input.name] = input.default_value;
  const std::string id = n.id;
  impl_->put(std::move(n));
  return id;
}

std::string Document::add_node_connected(std::string_view type, Vec2 pos, const std::optional<OutputPin>& from,
                                         const std::optional<InputPin>& to) {
  Edit edit(*impl_, "Add " + std::string(type) + " and connect");
  const std::string id = add_node(type, pos);
  const NodeSpec& s = *impl_->registry->find_node(type);
  if (from) {
    if (auto pin = first_compatible_pin(s, impl_->output_type(*from), PinSide::Output)) connect(*from, {id, *pin});
  }
  if (to) {
    if (auto pin = first_compatible_pin(s, impl_->input_type(*to), PinSide::Input)) connect({id, *pin}, *to);
  }
  return id;
}

void Document::remove(const std::vector<ItemRef>& items) {
  if (items.empty()) return;
  Edit edit(*impl_, "Delete " + plural(items.size(), "item"));
  std::set<std::string> nodes, reroutes;
  for (const auto& item : items) {
    if (!contains(item)) throw EditError("no item " + in_quotes(item.id) + " to delete");
    if (item.kind == ItemKind::Node) nodes.insert(item.id);
    if (item.kind == ItemKind::Reroute) reroutes.insert(item.id);
    if (item.kind == ItemKind::Note) impl_->erase_note(item.id);
    if (item.kind == ItemKind::Group) impl_->erase_group(item.id);
  }
  // Reroutes dissolve: what they fed is fed by their own source (the data link is unchanged).
  for (const auto& rid : reroutes) {
    const std::optional<OutputPin> source = impl_->state.reroutes.at(rid).from;
    for (auto& [id, r] : impl_->state.reroutes)
      if (r.from && r.from->is_reroute() && r.from->item == rid && id != rid) impl_->reroute(id).from = source;
    // A node may have several inputs behind this reroute: repeat until none is left.
    for (bool again = true; again;) {
      again = false;
      for (auto& [nid, n] : impl_->state.nodes)
        for (const auto& [input, via] : n.via)
          if (via == rid) {
            DocNode& changed = impl_->node(nid);
            if (source && source->is_reroute()) changed.via[input] = source->item;
            else if (source) changed.via.erase(input);
            else impl_->clear_input(nid, input);
            again = true;
            break;
          }
    }
    impl_->erase_reroute(rid);
  }
  for (const auto& nid : nodes) {
    impl_->erase_node(nid);
    // Reroutes fed by the node lose their source; inputs behind them lose their link.
    std::vector<std::string> orphaned;
    for (const auto& [id, r] : impl_->state.reroutes)
      if (r.from && !r.from->is_reroute() && r.from->item == nid) orphaned.push_back(id);
    for (const auto& id : orphaned) {
      impl_->reroute(id).from.reset();
      impl_->propagate(id);
    }
    // Inputs wired straight to the node.
    std::vector<InputPin> direct;
    for (const auto& [id, n] : impl_->state.nodes)
      for (const auto& [name, input] : n.inputs)
        if (const Link* link = std::get_if<Link>(&input); link && link->node == nid && !n.via.count(name))
          direct.push_back({id, name});
    for (const auto& pin : direct) impl_->clear_input(pin.item, pin.input);
  }
  impl_->prune_selection();
}

void Document::move(const std::vector<ItemRef>& items, Vec2 delta, MergeKey merge) {
  if (items.empty() || (delta.x == 0 && delta.y == 0)) return;
  Edit edit(*impl_, "Move " + plural(items.size(), "item"), merge);
  std::set<ItemRef> unique(items.begin(), items.end());
  for (const auto& item : unique) {
    switch (item.kind) {
      case ItemKind::Node: {
        DocNode& n = impl_->node(item.id);
        n.pos = n.pos + delta;
        n.placed = true;
        break;
      }
      case ItemKind::Reroute: impl_->reroute(item.id).pos = impl_->state.reroutes.at(item.id).pos + delta; break;
      case ItemKind::Note: impl_->note(item.id).rect.pos = impl_->state.notes.at(item.id).rect.pos + delta; break;
      case ItemKind::Group: impl_->group(item.id).rect.pos = impl_->state.groups.at(item.id).rect.pos + delta; break;
    }
  }
}

void Document::set_position(const ItemRef& item, Vec2 pos, MergeKey merge) {
  const Vec2 now = position(item);
  if (item.kind == ItemKind::Node && !node(item.id)->placed && pos == now) {
    // Placing a node exactly where the automatic layout put it still makes the position real.
    Edit edit(*impl_, "Move 1 item", merge);
    impl_->node(item.id).placed = true;
    return;
  }
  move({item}, pos - now, merge);
}

void Document::set_node_size(std::string_view node_id, std::optional<Vec2> size, MergeKey merge) {
  Edit edit(*impl_, "Resize node", merge);
  impl_->node(std::string(node_id)).size = size;
}

bool Document::connect(const OutputPin& from, const InputPin& to) {
  if (!impl_->check(from, to)) return false;
  Edit edit(*impl_, "Connect");
  impl_->wire(from, to);
  return true;
}

bool Document::disconnect(const InputPin& to) {
  if (!is_connected(to)) return false;
  Edit edit(*impl_, "Disconnect");
  if (to.is_reroute()) {
    impl_->reroute(to.item).from.reset();
    impl_->propagate(to.item);
  } else {
    impl_->clear_input(to.item, to.input);
  }
  return true;
}

std::size_t Document::disconnect_all(const OutputPin& from) {
  const auto targets = targets_of(from);
  if (targets.empty()) return 0;
  Edit edit(*impl_, "Disconnect " + plural(targets.size(), "wire"));
  for (const auto& pin : targets) disconnect(pin);
  return targets.size();
}

void Document::set_literal(std::string_view node_id, std::string_view input, Literal value, MergeKey merge) {
  const DocNode* existing = node(node_id);
  if (!existing) throw EditError("no node " + in_quotes(node_id) + " in the document");
  const NodeSpec* s = impl_->spec_of(*existing);
  const InputSpec* in = s ? s->find_input(input) : nullptr;
  if (s && !in) throw EditError(existing->type + " has no input " + in_quotes(input));
  if (in && !in->widget) throw EditError("input " + in_quotes(input) + " of " + existing->type + " takes a link, not a value");
  if (in && in->type == builtin_types::kFloat)
    if (const auto* i = std::get_if<std::int64_t>(&value)) value = static_cast<double>(*i);
  Edit edit(*impl_, "Set " + std::string(input), merge);
  DocNode& n = impl_->node(std::string(node_id));
  n.via.erase(std::string(input));
  n.inputs[std::string(input)] = std::move(value);
}

void Document::reset_input(std::string_view node_id, std::string_view input) {
  Edit edit(*impl_, "Reset " + std::string(input));
  DocNode& n = impl_->node(std::string(node_id));
  n.via.erase(std::string(input));
  n.inputs.erase(std::string(input));
}

void Document::set_collapsed(const std::vector<std::string>& node_ids, bool collapsed) {
  Edit edit(*impl_, collapsed ? "Collapse" : "Expand");
  for (const auto& id : node_ids) impl_->node(id).collapsed = collapsed;
}

void Document::set_bypass(const std::vector<std::string>& node_ids, bool bypass) {
  Edit edit(*impl_, bypass ? "Bypass" : "Unbypass");
  for (const auto& id : node_ids) impl_->node(id).bypass = bypass;
}

void Document::toggle_bypass(const std::vector<std::string>& node_ids) {
  bool all = !node_ids.empty();
  for (const auto& id : node_ids) {
    const DocNode* n = node(id);
    if (!n) throw EditError("no node " + in_quotes(id) + " in the document");
    all = all && n->bypass;
  }
  set_bypass(node_ids, !all);
}

void Document::set_title(const ItemRef& item, std::string title) {
  Edit edit(*impl_, "Rename");
  switch (item.kind) {
    case ItemKind::Node: impl_->node(item.id).title = std::move(title); break;
    case ItemKind::Group: impl_->group(item.id).title = std::move(title); break;
    case ItemKind::Note: impl_->note(item.id).text = std::move(title); break;
    case ItemKind::Reroute: throw EditError("a reroute has no title");
  }
}

void Document::set_color(const std::vector<ItemRef>& items, std::optional<Color> color) {
  Edit edit(*impl_, "Colour");
  for (const auto& item : items) {
    switch (item.kind) {
      case ItemKind::Node: impl_->node(item.id).color = color; break;
      case ItemKind::Note: impl_->note(item.id).color = color; break;
      case ItemKind::Group: impl_->group(item.id).color = color; break;
      case ItemKind::Reroute: break;  // drawn in the wire's colour
    }
  }
}

std::string Document::add_reroute(Vec2 pos, const std::optional<OutputPin>& from) {
  Edit edit(*impl_, "Add reroute");
  Reroute r;
  r.id = IdAllocator(impl_->state).next();
  r.pos = pos;
  const std::string id = r.id;
  impl_->put(std::move(r));
  if (from && !impl_->check(*from, {id, ""})) throw EditError("cannot feed the reroute: " + impl_->check(*from, {id, ""}).reason);
  if (from) impl_->wire(*from, {id, ""});
  return id;
}

std::string Document::insert_reroute(const InputPin& to, Vec2 pos) {
  const auto source = source_of(to);
  if (!source) throw EditError("no wire into " + to.item + (to.input.empty() ? "" : "." + to.input) + " to put a reroute on");
  Edit edit(*impl_, "Add reroute");
  const std::string id = add_reroute(pos, source);
  impl_->wire({id, ""}, to);
  return id;
}

std::string Document::add_note(Rect rect, std::string text) {
  Edit edit(*impl_, "Add note");
  Note n;
  n.id = IdAllocator(impl_->state).next();
  n.rect = rect;
  n.text = std::move(text);
  for (const auto& [_, other] : impl_->state.notes) n.order = std::max(n.order, other.order + 1);
  const std::string id = n.id;
  impl_->put(std::move(n));
  return id;
}

void Document::set_note_text(std::string_view note_id, std::string text, MergeKey merge) {
  Edit edit(*impl_, "Edit note", merge);
  impl_->note(std::string(note_id)).text = std::move(text);
}

void Document::set_rect(const ItemRef& item, const Rect& rect, MergeKey merge) {
  Edit edit(*impl_, "Resize", merge);
  if (item.kind == ItemKind::Note) impl_->note(item.id).rect = rect;
  else if (item.kind == ItemKind::Group) impl_->group(item.id).rect = rect;
  else throw EditError("only notes and groups have a rectangle (use set_node_size for nodes)");
}

std::string Document::add_group(std::string title, Rect rect) {
  Edit edit(*impl_, "Add group");
  Group g;
  g.id = IdAllocator(impl_->state).next();
  g.title = std::move(title);
  g.rect = rect;
  for (const auto& [_, other] : impl_->state.groups) g.order = std::max(g.order, other.order + 1);
  const std::string id = g.id;
  impl_->put(std::move(g));
  return id;
}

std::string Document::add_group_around(const std::vector<ItemRef>& items, std::string title,
                                       const std::function<Vec2(const DocNode&)>& node_size) {
  constexpr float kMargin = 16, kTitle = 36;
  const auto box = bounds(items, node_size);
  if (!box || items.empty()) throw EditError("nothing to put in a group");
  return add_group(std::move(title), Rect{box->pos - Vec2{kMargin, kMargin + kTitle},
                                          box->size + Vec2{2 * kMargin, 2 * kMargin + kTitle}});
}

std::vector<ItemRef> Document::paste(std::string_view text, const PasteOptions& options) {
  Edit edit(*impl_, "Paste");
  return impl_->paste(text, options);
}

std::vector<ItemRef> Document::duplicate(const std::vector<ItemRef>& items, Vec2 offset) {
  if (items.empty()) return {};
  Edit edit(*impl_, "Duplicate " + plural(items.size(), "item"));
  PasteOptions options;
  options.offset = offset;
  return impl_->paste(impl_->copy(items), options);
}

std::string Document::copy(const std::vector<ItemRef>& items) const { return impl_->copy(items); }

// ==================================================================== undo / redo

bool Document::can_undo() const { return !impl_->undo.empty(); }
bool Document::can_redo() const { return !impl_->redo.empty(); }

static void apply_step(DocumentState& state, const UndoStep& step, bool use_before) {
  apply(step.nodes, state.nodes, use_before);
  apply(step.reroutes, state.reroutes, use_before);
  apply(step.notes, state.notes, use_before);
  apply(step.groups, state.groups, use_before);
  if (step.extra) state.extra = use_before ? step.extra->first : step.extra->second;
}

bool Document::undo() {
  if (impl_->undo.empty() || impl_->depth > 0) return false;
  UndoStep step = std::move(impl_->undo.back());
  impl_->undo.pop_back();
  apply_step(impl_->state, step, true);
  impl_->redo.push_back(std::move(step));
  impl_->merge_open = false;
  impl_->prune_selection();
  impl_->changed_content();
  return true;
}

bool Document::redo() {
  if (impl_->redo.empty() || impl_->depth > 0) return false;
  UndoStep step = std::move(impl_->redo.back());
  impl_->redo.pop_back();
  apply_step(impl_->state, step, false);
  impl_->undo.push_back(std::move(step));
  impl_->merge_open = false;
  impl_->prune_selection();
  impl_->changed_content();
  return true;
}

std::string Document::undo_label() const { return impl_->undo.empty() ? "" : impl_->undo.back().label; }
std::string Document::redo_label() const { return impl_->redo.empty() ? "" : impl_->redo.back().label; }
std::size_t Document::undo_steps() const { return impl_->undo.size(); }
std::size_t Document::redo_steps() const { return impl_->redo.size(); }
void Document::end_merge() { impl_->merge_open = false; }

Document::EditGroup::EditGroup(Document& document, std::string label)
    : document_(document), exceptions_(std::uncaught_exceptions()) {
  document_.impl_->begin(std::move(label), 0);
}

Document::EditGroup::~EditGroup() {
  if (std::uncaught_exceptions() > exceptions_) document_.impl_->rollback();
  else document_.impl_->commit();
}

}  // namespace diffgraph::editor
