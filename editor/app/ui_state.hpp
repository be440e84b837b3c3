/// @file ui_state.hpp
/// What the UI modules share during a frame: the editor core objects they read and command,
/// the view, per-frame node layouts, and the state of gestures that span frames (a wire being
/// dragged, a box selection, the search palette). Everything about the workflow itself lives
/// in the core's Document; this is only presentation and interaction state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <diffgraph/editor/editor_core.hpp>

#include "canvas.hpp"
#include "frame_report.hpp"
#include "textures.hpp"
#include "theme.hpp"

namespace diffgraph::editor::ui {

/// The core objects the UI works on (owned by the caller: main.cpp or a test).
struct EditorServices {
  Document& document;
  RunSession& session;
  PluginHost& plugins;
  InputChoices& choices;
  RecentFiles& recent;
  AutoBackup* backup = nullptr;  ///< nullptr: no periodic backup (tests)
};

/// A pin on screen this frame.
struct PinLayout {
  std::string name;
  std::string type;
  ImVec2 pos;             ///< centre, canvas units
  bool connected = false;
};

/// One widget row of a node.
struct WidgetRow {
  const InputSpec* input = nullptr;
  float y = 0;            ///< top, canvas units
  float height = 0;
};

/// Where everything of a node goes, in canvas units (computed from the spec every frame, so
/// nothing about layout is stored).
struct NodeLayout {
  Box rect;
  const NodeSpec* spec = nullptr;
  std::vector<PinLayout> inputs;
  std::vector<PinLayout> outputs;
  std::vector<WidgetRow> widgets;
  Box image_area;         ///< where pictures go (empty when none)
  bool visible = true;    ///< overlaps the visible part of the canvas
};

/// A wire being dragged out of a pin.
struct WireDrag {
  /// Set when dragging from an output (or a reroute): looking for an input.
  std::optional<OutputPin> from;
  /// Set when dragging from an unconnected input: looking for an output.
  std::optional<InputPin> to;
  /// Set when a connected input's wire was picked up: the wire is hidden and goes where it is
  /// dropped (nowhere = removed).
  std::optional<InputPin> detached;
  std::string type;       ///< the dragged pin's type
  ImVec2 start;           ///< where the mouse pressed (a click without a drag does nothing)
  std::map<std::string, ConnectionCheck> checks;  ///< pin key → may connect, why not (filled lazily)
};

/// The add-node search palette.
struct PaletteState {
  bool open_requested = false;
  bool open = false;
  std::string query;
  Vec2 canvas_pos;                  ///< where the new node goes
  std::optional<OutputPin> from;    ///< wire dropped on the canvas from an output
  std::optional<InputPin> to;       ///< ...or from an input
  std::optional<PinFilter> filter;
  int selected = 0;
  int focus_frames = 0;             ///< frames left to keep keyboard focus on the query box
};

/// Modal prompts and dialogs.
enum class PendingAction { None, New, Open, OpenPath, Close };

struct FileDialogState {
  bool open_requested = false;
  bool saving = false;                 ///< Save As (else Open)
  std::string directory;
  std::string name;
  std::string error;
  PendingAction then = PendingAction::None;  ///< after a Save As from the unsaved-changes prompt
};

/// Everything the UI modules share.
struct UiState {
  explicit UiState(EditorServices services, TextureBackend& texture_backend)
      : core(services), textures(texture_backend) {}

  EditorServices core;
  ImageTextures textures;
  theme::Fonts fonts;
  float ui_scale = 1.0f;
  CanvasView view;
  bool view_initialised = false;
  std::uint64_t view_synced_revision = ~std::uint64_t{0};
  std::optional<NodeSearch> search;          ///< rebuilt after a plugin reload
  int search_generation = -1;

  // Per frame.
  /// The document's wires and which pins they touch, rebuilt when the content changes (asking
  /// the document per pin would cost O(nodes²) a frame).
  std::vector<Wire> wires;
  std::set<std::pair<std::string, std::string>> wired_inputs;   ///< (item, input)
  std::set<std::pair<std::string, std::string>> wired_outputs;  ///< (item, output)
  std::uint64_t wires_revision = ~std::uint64_t{0};
  std::map<std::string, NodeLayout> layouts;
  std::map<std::string, NodeRunStatus> statuses;
  FrameReport report;
  bool canvas_hovered = false;               ///< the mouse is over the canvas, not a panel/popup
  Box canvas_screen;                         ///< the canvas area on screen
  Box minimap_screen;
  bool wire_hovered = false;                 ///< the mouse is over a wire (not an item)

  // Gestures.
  std::vector<std::string> z_order;          ///< node ids, bottom to top (clicked nodes rise)
  std::optional<WireDrag> wire;
  std::optional<ImVec2> box_select_start;    ///< canvas units
  bool box_select_add = false;
  bool moving = false;
  MergeKey move_key = 0;                     ///< the merge key of the move in progress
  MergeKey widget_key = 0;                   ///< the merge key of the widget being edited
  ImGuiID focus_text = 0;                    ///< a prompt box switching from view to editor
  int focus_text_frames = 0;
  std::string open_popup;                    ///< a canvas popup to open at the canvas's ID level
  std::uint64_t next_merge_key = 1;
  std::optional<InputPin> context_wire;      ///< the wire (by its end) a context menu is about
  std::optional<ItemRef> context_item;
  Vec2 context_canvas_pos;
  std::string renaming;                      ///< item id whose title is being edited
  std::string rename_text;
  PaletteState palette;

  // Windows and prompts.
  bool show_sidebar = true;
  bool show_shortcuts = false;
  bool show_minimap = true;
  std::string library_filter;
  FileDialogState file_dialog;
  PendingAction pending = PendingAction::None;  ///< waiting on the unsaved-changes prompt
  std::filesystem::path pending_path;
  bool unsaved_prompt_requested = false;
  bool quit = false;                         ///< the app may close now
  std::vector<BackupEntry> restorable;       ///< backups offered on start
  bool restore_prompt_requested = false;
  std::string status_message;                ///< bottom bar: last action or error
  bool status_is_error = false;
  double status_time = 0;
  std::optional<float> requested_scale;      ///< the platform rebuilds fonts between frames
  std::optional<std::uint64_t> gallery_zoom; ///< picture version shown large
  std::string last_saved_screenshot;

  /// Shows a message in the status bar (and as an error in red).
  void message(std::string text, bool error = false);
  /// A new merge key for one drag gesture.
  MergeKey new_merge_key() { return next_merge_key++; }
  /// The size of a node as laid out this frame (falls back to the core's estimate).
  Vec2 node_size(const DocNode& node) const;
};

/// Key for a pin in WireDrag::checks and similar maps.
std::string pin_key(const std::string& item, const std::string& name, bool output);

/// True when the canvas is zoomed in enough to show widgets and labels.
inline bool view_detailed(const UiState& state) { return state.view.user_zoom() >= theme::kDetailZoom; }

/// True when the last item has been hovered for `seconds` (tooltips wait a moment).
bool hovered_for(float seconds);

}  // namespace diffgraph::editor::ui
