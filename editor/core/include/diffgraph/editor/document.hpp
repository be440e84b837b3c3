/// @file document.hpp
/// The editor's document: the workflow being edited, as plain data, with edit commands that
/// are all undoable, a dirty flag relative to the saved state, a selection and the clipboard.
///
/// The document is the single source of truth the UI draws from each frame (Dear ImGui style):
/// the drawing code reads `nodes()`, `wires()`, `groups()`... and calls the commands below.
///
/// What is stored where in the `diffgraph/1` file (docs/workflow-format.md, docs/editor.md):
/// - engine data — node type, literal inputs, direct links, `"bypass": true` — in the node
///   itself, so the CLI runs the very file the editor saves;
/// - a node's editor state in its `"editor"` object: `pos`, `size`, `collapsed`, `color`,
///   `title`, and `via` (input → reroute id) for wires drawn through reroute points;
/// - graph-level editor state in the top-level `"editor"` object: `groups` (frames with a
///   title), `notes` (UI-only text boxes, never sent to the engine), `reroutes` (UI-only
///   pass-through points) and `view` (pan/zoom).
///
/// Reroutes are pass-through points: a wire may run output → reroute → reroute → input, and one
/// reroute may fan out to many inputs. The engine never sees them: every input keeps the direct
/// link to the node output its reroute chain starts from (kept up to date by the commands), and
/// `via` only tells the editor how to draw it. An input whose reroute chain has no source has no
/// engine link (so validation reports it if the input is required).
///
/// Editor keys this version does not know are kept verbatim (DocNode::extra, Document::extra).
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <diffgraph/errors.hpp>
#include <diffgraph/graph.hpp>
#include <diffgraph/registry.hpp>
#include <diffgraph/types.hpp>

namespace diffgraph::editor {

/// A point or size in canvas units (1 unit = 1 pixel at zoom 1).
struct Vec2 {
  float x = 0, y = 0;
  friend Vec2 operator+(Vec2 a, Vec2 b) { return {a.x + b.x, a.y + b.y}; }
  friend Vec2 operator-(Vec2 a, Vec2 b) { return {a.x - b.x, a.y - b.y}; }
  friend Vec2 operator*(Vec2 a, float s) { return {a.x * s, a.y * s}; }
  bool operator==(const Vec2&) const = default;
};

/// An axis-aligned rectangle: top-left corner and size, in canvas units.
struct Rect {
  Vec2 pos;
  Vec2 size;
  Vec2 max() const { return pos + size; }  ///< bottom-right corner
  bool contains(Vec2 p) const { return p.x >= pos.x && p.y >= pos.y && p.x <= pos.x + size.x && p.y <= pos.y + size.y; }
  bool contains(const Rect& r) const { return contains(r.pos) && contains(r.max()); }
  bool overlaps(const Rect& r) const {
    return pos.x <= r.pos.x + r.size.x && r.pos.x <= pos.x + size.x && pos.y <= r.pos.y + r.size.y && r.pos.y <= pos.y + size.y;
  }
  bool operator==(const Rect&) const = default;
};

/// The kinds of things on the canvas. Ids are unique across all kinds within a document.
enum class ItemKind { Node, Reroute, Note, Group };

/// A reference to one canvas item (selection, remove, move, copy...).
struct ItemRef {
  ItemKind kind = ItemKind::Node;
  std::string id;
  auto operator<=>(const ItemRef&) const = default;
  static ItemRef node(std::string id) { return {ItemKind::Node, std::move(id)}; }
  static ItemRef reroute(std::string id) { return {ItemKind::Reroute, std::move(id)}; }
  static ItemRef note(std::string id) { return {ItemKind::Note, std::move(id)}; }
  static ItemRef group(std::string id) { return {ItemKind::Group, std::move(id)}; }
};

/// Where a wire starts: the output `output` of node `item`, or reroute point `item` when
/// `output` is empty.
struct OutputPin {
  std::string item;
  std::string output;
  bool is_reroute() const { return output.empty(); }
  auto operator<=>(const OutputPin&) const = default;
};

/// Where a wire ends: the input `input` of node `item`, or reroute point `item` when `input`
/// is empty.
struct InputPin {
  std::string item;
  std::string input;
  bool is_reroute() const { return input.empty(); }
  auto operator<=>(const InputPin&) const = default;
};

/// One wire to draw: from an output or reroute to an input or reroute.
struct Wire {
  OutputPin from;
  InputPin to;
  /// The type of the data on the wire (the chain's source output type), "*" when the wire
  /// starts at a reroute without a source, "" when the source node's type is missing.
  std::string type;
  bool operator==(const Wire&) const = default;
};

/// A node as the editor holds it.
struct DocNode {
  std::string id;
  std::string type;              ///< a node type; may be missing from the registry (kept, marked)
  Vec2 pos;                      ///< top-left corner
  /// False while `pos` is the automatic layout given on load to a node the file placed nowhere;
  /// such a position is not written back until the node is moved (so open → save is identical).
  bool placed = true;
  std::optional<Vec2> size;      ///< set once the user resized the node; otherwise the UI sizes it
  bool collapsed = false;
  bool bypass = false;           ///< saved as the engine key "bypass": inputs pass through to outputs
  std::optional<Color> color;    ///< overrides the category colour
  std::string title;             ///< overrides the display name when not empty
  /// Inputs as the engine sees them: literals and direct links to node outputs. An input that
  /// is absent uses the spec's default.
  std::map<std::string, InputValue> inputs;
  /// input name → the reroute the wire into that input comes from (drawing only).
  std::map<std::string, std::string> via;
  /// Keys of the node's "editor" object this version does not interpret, kept verbatim.
  nlohmann::json extra = nlohmann::json::object();
  bool operator==(const DocNode&) const = default;
};

/// A reroute point: a UI-only pass-through dot on a wire.
struct Reroute {
  std::string id;
  Vec2 pos;                         ///< centre
  std::optional<OutputPin> from;    ///< its incoming wire (a node output or another reroute)
  bool operator==(const Reroute&) const = default;
};

/// A note: a UI-only text box, never sent to the engine.
struct Note {
  std::string id;
  Rect rect{{0, 0}, {240, 120}};
  std::string text;
  std::optional<Color> color;
  int order = 0;                    ///< drawing and file order (lower first)
  bool operator==(const Note&) const = default;
};

/// A group (frame): a titled rectangle behind nodes. Moving a group moves what lies inside it.
struct Group {
  std::string id;
  std::string title;
  Rect rect;
  std::optional<Color> color;
  int order = 0;                    ///< drawing and file order (lower first, so drawn behind)
  bool operator==(const Group&) const = default;
};

/// Pan and zoom. A canvas point p appears at `(p - offset) * zoom` relative to the canvas
/// window's top-left corner. Saved with the document, but changing it is not an edit (not
/// undoable, does not make the document dirty).
struct ViewState {
  Vec2 offset;
  float zoom = 1.0f;
  bool operator==(const ViewState&) const = default;
};

/// Whether a wire may be made, and if not, why (shown as a tooltip while dragging).
struct ConnectionCheck {
  bool ok = false;
  std::string reason;  ///< empty when ok
  explicit operator bool() const { return ok; }
};

/// How pasted items are placed and linked.
struct PasteOptions {
  /// Where the top-left corner of the pasted items' bounding box goes (e.g. the mouse). When
  /// unset, the items keep their positions shifted by `offset`.
  std::optional<Vec2> position;
  Vec2 offset{24, 24};
  /// Keep links from nodes outside the fragment when such a node exists in this document with
  /// a compatible output (ComfyUI's Ctrl+Shift+V). Otherwise those links are dropped.
  bool keep_outside_links = false;
};

/// Groups consecutive edits of one gesture (a drag, a slider) into one undo step: edits that
/// pass the same non-zero key merge into the step before them. 0 never merges.
using MergeKey = std::uint64_t;

/// An edit that cannot be made: an unknown id, a pin that does not exist... (the UI checks
/// first; this is for programming errors and scripted use).
class EditError : public Error {
 public:
  using Error::Error;
};

/// A rough size for a node the UI has not measured: width 220, a title bar and one row per
/// pin or widget (what the UI uses before its first frame, and what box queries fall back to).
Vec2 estimated_node_size(const DocNode& node, const NodeSpec* spec);

/// The workflow being edited.
class Document {
 public:
  /// `registry` gives node specs (types of pins, defaults, display names). It may be null
  /// (every node is then "missing"), and can be replaced after a plugin reload.
  explicit Document(std::shared_ptr<const Registry> registry = nullptr);
  ~Document();
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  // ---------------------------------------------------------------- registry and specs

  void set_registry(std::shared_ptr<const Registry> registry);
  const std::shared_ptr<const Registry>& registry() const;
  /// The spec of node `node_id`'s type, or nullptr when the node or its type is unknown.
  const NodeSpec* spec(std::string_view node_id) const;
  /// True when the node exists but its type is not registered (e.g. after a plugin reload).
  bool is_missing(std::string_view node_id) const;
  /// Ids of nodes whose type is not registered, sorted.
  std::vector<std::string> missing_nodes() const;

  // ---------------------------------------------------------------- files

  /// Empties the document (untitled, clean, undo history cleared).
  void clear();
  /// Replaces the content with `graph` (undo history cleared). The document is clean unless
  /// `dirty` (used to restore a backup); `path` becomes the document's file.
  void load(const Graph& graph, std::filesystem::path path = {}, bool dirty = false);
  /// Opens a workflow JSON file, or a PNG saved by diffgraph (its "workflow" text chunk). A PNG
  /// is opened untitled (saving asks for a name; suggested_path() proposes NAME.json), so the
  /// picture is never overwritten by JSON. Throws GraphError / Error naming the file.
  void open(const std::filesystem::path& path);
  /// Saves to path() atomically. Throws Error when the document has no path yet.
  void save();
  /// Saves to `path` atomically and makes it the document's file.
  void save_as(const std::filesystem::path& path);
  /// The file the document was loaded from or saved to; empty when untitled.
  const std::filesystem::path& path() const;
  /// A path to propose in a Save As dialog (the opened PNG's name with .json, or path()).
  std::filesystem::path suggested_path() const;
  /// "name.json", or "Untitled"; with a trailing '*' when dirty.
  std::string title() const;
  /// The engine graph (what save writes and what a run executes; notes and reroutes are
  /// editor data only).
  Graph to_graph() const;
  /// The `diffgraph/1` text save() writes.
  std::string to_json() const;

  /// True when the content differs from the last load/save (undoing back to it makes the
  /// document clean again). What the close prompt asks.
  bool dirty() const;
  /// Declares the current content saved (e.g. after writing it elsewhere).
  void mark_saved();
  /// Increases on every change of content, view or selection: lets the UI and the backup
  /// notice changes cheaply.
  std::uint64_t revision() const;
  /// Increases on every change of content only.
  std::uint64_t content_revision() const;

  // ---------------------------------------------------------------- reading

  const std::map<std::string, DocNode>& nodes() const;
  const std::map<std::string, Reroute>& reroutes() const;
  const std::map<std::string, Note>& notes() const;
  const std::map<std::string, Group>& groups() const;
  /// Groups and notes sorted by `order` (drawing order, back to front).
  std::vector<const Group*> groups_in_order() const;
  std::vector<const Note*> notes_in_order() const;
  const DocNode* node(std::string_view id) const;
  const Reroute* reroute(std::string_view id) const;
  const Note* note(std::string_view id) const;
  const Group* group(std::string_view id) const;
  bool contains(const ItemRef& item) const;
  /// The position of an item: a node's or note's top-left corner, a reroute's centre, a group's
  /// top-left corner.
  Vec2 position(const ItemRef& item) const;
  /// Graph-level editor keys this version does not interpret, kept verbatim.
  const nlohmann::json& extra() const;
  const ViewState& view() const;

  /// Every wire, sorted by target.
  std::vector<Wire> wires() const;
  /// What feeds an input or reroute: a node output or a reroute (the drawn wire), if anything.
  std::optional<OutputPin> source_of(const InputPin& pin) const;
  /// The node output at the start of a reroute chain (follows reroutes), if any.
  std::optional<Link> resolve(const OutputPin& pin) const;
  /// The inputs and reroutes a node output or reroute feeds directly.
  std::vector<InputPin> targets_of(const OutputPin& pin) const;
  /// The type of an output or reroute ("*" for a reroute without a source, "" when unknown).
  std::string output_type(const OutputPin& pin) const;
  /// The type an input accepts ("*" for a reroute, "" when unknown).
  std::string input_type(const InputPin& pin) const;
  /// The literal an input shows in its widget: its own literal, or the spec's default (an empty
  /// literal for a linked or unknown input).
  Literal input_literal(std::string_view node_id, std::string_view input) const;
  /// True when the input is fed by a wire (a link or a reroute).
  bool is_connected(const InputPin& pin) const;

  /// Whether `from` may be wired to `to`: both exist, types are compatible (an input of type
  /// "*" accepts anything; a reroute takes any type, but not one its downstream inputs reject),
  /// and the wire makes no cycle.
  ConnectionCheck check_connection(const OutputPin& from, const InputPin& to) const;

  /// Items whose rectangles overlap (or, with `whole`, lie inside) `rect`. `node_size` gives a
  /// node's size as the UI measured it (default: its saved size or estimated_node_size).
  std::vector<ItemRef> items_in_rect(const Rect& rect, bool whole = false,
                                     const std::function<Vec2(const DocNode&)>& node_size = {}) const;
  /// The nodes, reroutes and notes lying inside a group (what moves with it).
  std::vector<ItemRef> group_contents(std::string_view group_id,
                                      const std::function<Vec2(const DocNode&)>& node_size = {}) const;
  /// The bounding box of items (all items when empty); nullopt when there are none.
  std::optional<Rect> bounds(const std::vector<ItemRef>& items = {},
                             const std::function<Vec2(const DocNode&)>& node_size = {}) const;

  // ---------------------------------------------------------------- selection (not undone, not saved)

  const std::set<ItemRef>& selection() const;
  std::vector<ItemRef> selected_items() const;
  bool is_selected(const ItemRef& item) const;
  /// Replaces the selection, or adds to it when `add`.
  void select(const ItemRef& item, bool add = false);
  void select(const std::vector<ItemRef>& items, bool add = false);
  void deselect(const ItemRef& item);
  void toggle_selected(const ItemRef& item);
  void select_all();
  void clear_selection();

  // ---------------------------------------------------------------- view (not an edit)

  void set_view(const ViewState& view);

  // ---------------------------------------------------------------- edit commands
  // Each command is one undo step (unless inside an EditGroup, or merged through a MergeKey).
  // A command that changes nothing records no step. Unknown ids throw EditError.

  /// Adds a node of a registered `type` at `pos`; its widget inputs get their defaults written
  /// out (so the file keeps what the user saw). Returns the new id (the next free integer).
  /// Throws EditError for an unregistered type.
  std::string add_node(std::string_view type, Vec2 pos);
  /// Adds a node and wires it in one undo step: `from` → the new node's first input accepting
  /// its type, or the new node's first output accepted by `to` → `to`. What the search palette
  /// does after a wire was dropped on empty canvas.
  std::string add_node_connected(std::string_view type, Vec2 pos, const std::optional<OutputPin>& from,
                                 const std::optional<InputPin>& to);
  /// Removes items and every wire touching them. Inputs fed through a removed reroute are
  /// rewired to the reroute's own source (the data link stays).
  void remove(const std::vector<ItemRef>& items);
  /// Moves items by `delta` (a group moves alone; pass group_contents too to drag its nodes).
  void move(const std::vector<ItemRef>& items, Vec2 delta, MergeKey merge = 0);
  /// Sets an item's position (see position()).
  void set_position(const ItemRef& item, Vec2 pos, MergeKey merge = 0);
  /// Sets or clears (nullopt: automatic size) a node's size.
  void set_node_size(std::string_view node_id, std::optional<Vec2> size, MergeKey merge = 0);
  /// Wires `from` to `to`, replacing what fed `to` before. Returns false (and changes nothing)
  /// when check_connection refuses.
  bool connect(const OutputPin& from, const InputPin& to);
  /// Removes the wire into `to` (a widget input falls back to its default value). Returns false
  /// when nothing was connected.
  bool disconnect(const InputPin& to);
  /// Removes every wire leaving `from`. Returns the number removed.
  std::size_t disconnect_all(const OutputPin& from);
  /// Sets a widget input's literal (replacing a link). An INT literal given to a FLOAT input is
  /// stored as a float.
  void set_literal(std::string_view node_id, std::string_view input, Literal value, MergeKey merge = 0);
  /// Removes an input's literal or link, so the spec's default applies.
  void reset_input(std::string_view node_id, std::string_view input);
  void set_collapsed(const std::vector<std::string>& node_ids, bool collapsed);
  void set_bypass(const std::vector<std::string>& node_ids, bool bypass);
  /// Toggles bypass: all bypassed afterwards unless all were bypassed before (Ctrl+B).
  void toggle_bypass(const std::vector<std::string>& node_ids);
  /// A node's title override ("" = display name), or a group's title.
  void set_title(const ItemRef& item, std::string title);
  /// Colour of nodes, notes and groups (nullopt = default).
  void set_color(const std::vector<ItemRef>& items, std::optional<Color> color);

  /// Adds a reroute point, optionally fed by `from`. Returns its id.
  std::string add_reroute(Vec2 pos, const std::optional<OutputPin>& from = std::nullopt);
  /// Splits the wire into `to` with a new reroute at `pos` (source → reroute → `to`), so the
  /// data link is unchanged. Returns the reroute id. Throws EditError when `to` has no wire.
  std::string insert_reroute(const InputPin& to, Vec2 pos);

  /// Adds a note. Returns its id.
  std::string add_note(Rect rect, std::string text);
  void set_note_text(std::string_view note_id, std::string text, MergeKey merge = 0);
  /// Sets a note's or group's rectangle (resize).
  void set_rect(const ItemRef& item, const Rect& rect, MergeKey merge = 0);
  /// Adds a group. Returns its id.
  std::string add_group(std::string title, Rect rect);
  /// Adds a group around `items` with a margin and room for the title. Returns its id.
  std::string add_group_around(const std::vector<ItemRef>& items, std::string title,
                               const std::function<Vec2(const DocNode&)>& node_size = {});

  /// Pastes clipboard text (a `diffgraph/1` document or fragment, e.g. from copy()) as new
  /// items with new ids; links between pasted nodes are kept, links to nodes outside the
  /// fragment dropped (see PasteOptions). The pasted items become the selection and are
  /// returned. Throws GraphError when the text is not a workflow.
  std::vector<ItemRef> paste(std::string_view text, const PasteOptions& options = {});
  /// Copies and pastes `items` with `offset`, as one undo step. Returns the new items.
  std::vector<ItemRef> duplicate(const std::vector<ItemRef>& items, Vec2 offset = {24, 24});

  // ---------------------------------------------------------------- clipboard

  /// The items as clipboard text: a `diffgraph/1` fragment (nodes with their links, notes,
  /// groups, reroutes). Links to nodes outside the items are kept in the text; paste() decides
  /// what to do with them. Groups bring nothing along by themselves: pass their contents too.
  std::string copy(const std::vector<ItemRef>& items) const;

  // ---------------------------------------------------------------- undo / redo

  bool can_undo() const;
  bool can_redo() const;
  /// Undoes the last step; returns false when there is none.
  bool undo();
  bool redo();
  /// Labels of the steps undo() / redo() would apply ("Move 3 items"), empty when none.
  std::string undo_label() const;
  std::string redo_label() const;
  std::size_t undo_steps() const;
  std::size_t redo_steps() const;
  /// Ends the current merge: the next edit starts a new step even with the same MergeKey
  /// (call on mouse release).
  void end_merge();

  /// Makes every command between construction and destruction one undo step labelled
  /// `label` (e.g. "drop wire, add node, connect"). Nestable; the outermost one counts. Left
  /// by an exception, the outermost group undoes what it recorded.
  class EditGroup {
   public:
    EditGroup(Document& document, std::string label);
    ~EditGroup();
    EditGroup(const EditGroup&) = delete;
    EditGroup& operator=(const EditGroup&) = delete;

   private:
    Document& document_;
    int exceptions_;
  };

  struct Impl;  ///< implementation detail (src/document_impl.hpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace diffgraph::editor
