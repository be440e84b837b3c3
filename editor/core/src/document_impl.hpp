// The inside of Document, shared by document.cpp (queries, commands, undo), document_json.cpp
// (diffgraph/1 ↔ document) and clipboard.cpp (copy, paste).
//
// Undo works on item-level deltas: while a command runs, the first time it touches an item the
// item's state before is recorded; when the command ends, the states after are recorded next to
// them and identical pairs are dropped. Undo puts the "before" states back, redo the "after"
// states. Because the whole state of each touched item is stored, undo restores the exact
// document (and so the exact JSON) whatever the command did, and a step costs only what it
// changed.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "diffgraph/editor/document.hpp"

namespace diffgraph::editor {

/// Everything that is saved and undone.
struct DocumentState {
  std::map<std::string, DocNode> nodes;
  std::map<std::string, Reroute> reroutes;
  std::map<std::string, Note> notes;
  std::map<std::string, Group> groups;
  nlohmann::json extra = nlohmann::json::object();
  ViewState view;
  bool view_in_file = false;  // written back even when default, so a round trip keeps it
};

/// Before/after states of the items one step touched (nullopt = absent).
template <class T>
using ItemDeltas = std::map<std::string, std::pair<std::optional<T>, std::optional<T>>>;

struct UndoStep {
  std::string label;
  MergeKey merge = 0;
  std::uint64_t serial = 0;  // unique; the dirty flag compares it with the saved one
  ItemDeltas<DocNode> nodes;
  ItemDeltas<Reroute> reroutes;
  ItemDeltas<Note> notes;
  ItemDeltas<Group> groups;
  std::optional<std::pair<nlohmann::json, nlohmann::json>> extra;
  bool empty() const { return nodes.empty() && reroutes.empty() && notes.empty() && groups.empty() && !extra; }
};

/// The graph-level and node-level JSON of the editor objects (document_json.cpp).
DocumentState state_from_graph(const Graph& graph, const Registry* registry);
Graph graph_from_state(const DocumentState& state);

/// The next free integer id across all kinds, and the ones after it.
class IdAllocator {
 public:
  explicit IdAllocator(const DocumentState& state);
  std::string next();

 private:
  std::uint64_t next_ = 1;
};

struct Document::Impl {
  std::shared_ptr<const Registry> registry;
  DocumentState state;
  std::filesystem::path path;
  std::filesystem::path suggested_path;
  std::set<ItemRef> selection;

  std::vector<UndoStep> undo;
  std::vector<UndoStep> redo;
  std::uint64_t next_serial = 1;
  std::uint64_t saved_serial = 0;  // serial of the top undo step when saved (0: none)
  bool merge_open = false;         // may the next edit merge into the top step?

  std::uint64_t revision = 1;
  std::uint64_t content_revision = 1;

  // The step being recorded (valid while depth > 0).
  int depth = 0;
  UndoStep current;

  // ------------------------------------------------------------------ transactions
  void begin(std::string label, MergeKey merge);
  void commit();
  void rollback();

  // Mutable access that records the item's state before the first change of this step.
  DocNode& node(const std::string& id);
  Reroute& reroute(const std::string& id);
  Note& note(const std::string& id);
  Group& group(const std::string& id);
  void put(DocNode node);
  void put(Reroute reroute);
  void put(Note note);
  void put(Group group);
  void erase_node(const std::string& id);
  void erase_reroute(const std::string& id);
  void erase_note(const std::string& id);
  void erase_group(const std::string& id);
  nlohmann::json& extra();

  void touch_node(const std::string& id);
  void touch_reroute(const std::string& id);
  void touch_note(const std::string& id);
  void touch_group(const std::string& id);

  std::uint64_t top_serial() const { return undo.empty() ? 0 : undo.back().serial; }
  void changed_content() {
    ++revision;
    ++content_revision;
  }
  void prune_selection();

  // ------------------------------------------------------------------ queries shared by the commands
  const NodeSpec* spec_of(const DocNode& node) const {
    return registry ? registry->find_node(node.type) : nullptr;
  }
  std::optional<Link> resolve(const OutputPin& pin) const;
  std::string output_type(const OutputPin& pin) const;
  std::string input_type(const InputPin& pin) const;
  /// Node inputs fed (directly or through other reroutes) by reroute `id`.
  std::vector<InputPin> inputs_behind_reroute(const std::string& id) const;
  /// Rewrites the engine links of every input behind reroute `id` to what its chain resolves to.
  void propagate(const std::string& reroute_id);
  /// Leaves an input without a wire: a widget input gets its default literal back.
  void clear_input(const std::string& node_id, const std::string& input);
  /// Ids of nodes downstream of `from` (following engine links), `from` included.
  std::set<std::string> downstream_nodes(const std::set<std::string>& from) const;
  ConnectionCheck check(const OutputPin& from, const InputPin& to) const;
  void wire(const OutputPin& from, const InputPin& to);
  Vec2 node_size(const DocNode& node, const std::function<Vec2(const DocNode&)>& measured) const;
  Rect item_rect(const ItemRef& item, const std::function<Vec2(const DocNode&)>& measured) const;
  std::vector<ItemRef> paste(std::string_view text, const PasteOptions& options);
  std::string copy(const std::vector<ItemRef>& items) const;
};

/// Writes a coordinate: integers stay integers, others keep two decimals (float noise such
/// as 40.100000381 never reaches the file).
nlohmann::json coordinate_json(float value);
/// "#rrggbb", or "#rrggbbaa" when not opaque; parse_color accepts both.
std::string color_text(const Color& color);
std::optional<Color> parse_color(const nlohmann::json& value);
/// The node output an output pin stands for, following reroutes; nullopt when the chain is
/// broken, loops or ends at a missing node.
std::optional<Link> resolve_in(const DocumentState& state, OutputPin at);

}  // namespace diffgraph::editor
