// The editor's frame: layout, canvas, menus and shortcuts (editor_ui.hpp).
#include "editor_ui.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <set>

#include <imgui_stdlib.h>

#include "groups.hpp"
#include "keys.hpp"
#include "links.hpp"
#include "node_view.hpp"
#include "palette.hpp"
#include "panels.hpp"
#include "prompts.hpp"

namespace diffgraph::editor::ui {

namespace {

constexpr float kCanvasTextSize = 15.0f;  // canvas text height at 100 %, canvas units

std::vector<ItemRef> with_group_contents(const UiState& state, std::vector<ItemRef> items) {
  const Document& doc = state.core.document;
  const std::size_t count = items.size();
  for (std::size_t i = 0; i < count; ++i)
    if (items[i].kind == ItemKind::Group)
      for (ItemRef& inside : doc.group_contents(items[i].id, [&](const DocNode& n) { return state.node_size(n); }))
        items.push_back(std::move(inside));
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

std::vector<std::string> selected_node_ids(const Document& doc) {
  std::vector<std::string> ids;
  for (const ItemRef& item : doc.selection())
    if (item.kind == ItemKind::Node) ids.push_back(item.id);
  return ids;
}

}  // namespace

EditorUi::EditorUi(EditorServices services, TextureBackend& textures, float ui_scale) : state_(services, textures) {
  set_scale(ui_scale);
}

void EditorUi::set_scale(float ui_scale) {
  const float user_zoom = state_.view.user_zoom();
  state_.ui_scale = ui_scale;
  state_.fonts = theme::setup(ui_scale);
  state_.view.ui_scale = ui_scale;
  state_.view.zoom = user_zoom * ui_scale;
}

std::optional<float> EditorUi::take_scale_request() { return std::exchange(state_.requested_scale, std::nullopt); }

std::string EditorUi::window_title() const { return state_.core.document.title() + " - diffgraph editor"; }

void EditorUi::offer_backups(std::vector<BackupEntry> entries) {
  std::erase_if(entries, [](const BackupEntry& e) { return e.writer_running; });
  if (entries.empty()) return;
  state_.restorable = std::move(entries);
  state_.restore_prompt_requested = true;
}

bool EditorUi::open_file(const std::filesystem::path& path) {
  try {
    state_.core.document.open(path);
  } catch (const std::exception& e) {
    state_.message(e.what(), true);
    return false;
  }
  state_.core.session.clear_states();
  state_.core.recent.add(path);
  state_.z_order.clear();
  state_.view_initialised = false;
  state_.message("opened " + path.string());
  return true;
}

bool EditorUi::run() {
  UiState& s = state_;
  if (s.core.session.running()) return false;
  if (s.core.session.start(s.core.document)) {
    s.message("");  // the status bar shows the run itself
    return true;
  }
  const RunReport report = s.core.session.last_report();
  s.message(report.phase == RunPhase::Invalid
                ? std::to_string(report.diagnostics.size()) + " problem(s) in the graph: see the marked nodes"
                : report.message.empty() ? "cannot start the run" : report.message,
            true);
  return false;
}

// --- frame ----------------------------------------------------------------------------------

void EditorUi::frame() {
  UiState& s = state_;
  s.report.clear();
  s.wire_hovered = false;
  if (!s.search || s.search_generation != s.core.plugins.generation()) {
    s.search.emplace(*s.core.plugins.registry());
    s.search_generation = s.core.plugins.generation();
  }
  s.statuses = s.core.session.node_statuses();

  shortcuts();
  menu_bar();

  const ImGuiViewport* viewport = ImGui::GetMainViewport();
  const float menu_h = ImGui::GetFrameHeight();
  const float status_h = ImGui::GetFrameHeight() + 6.0f * s.ui_scale;
  const float sidebar_w = s.show_sidebar ? std::round(270.0f * s.ui_scale) : 0.0f;
  const ImVec2 top_left{viewport->Pos.x, viewport->Pos.y + menu_h};
  const ImVec2 size{viewport->Size.x, viewport->Size.y - menu_h - status_h};

  if (s.show_sidebar) {
    ImGui::SetNextWindowPos(top_left);
    ImGui::SetNextWindowSize({sidebar_w, size.y});
    sidebar(s, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                   ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus);
  }
  ImGui::SetNextWindowPos({top_left.x + sidebar_w, top_left.y});
  ImGui::SetNextWindowSize({size.x - sidebar_w, size.y});
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, {0, 0});
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0.0f);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, 0.0f);
  ImGui::Begin("##canvas", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                   ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoNavInputs);
  ImGui::PopStyleVar(3);
  canvas();
  canvas_popups();
  ImGui::End();

  ImGui::SetNextWindowPos({viewport->Pos.x, viewport->Pos.y + viewport->Size.y - status_h});
  ImGui::SetNextWindowSize({viewport->Size.x, status_h});
  status_bar(s);

  palette(s);
  if (s.show_shortcuts) shortcuts_window(s);
  gallery_viewer(s);
  prompts();

  if (s.core.backup) s.core.backup->tick(s.core.document);
  s.textures.collect_unused();
}

// --- canvas ---------------------------------------------------------------------------------

void EditorUi::canvas() {
  UiState& s = state_;
  Document& doc = s.core.document;
  CanvasView& view = s.view;
  const ImGuiIO& io = ImGui::GetIO();
  view.origin = ImGui::GetCursorScreenPos();
  view.size = ImGui::GetContentRegionAvail();
  s.canvas_screen = {view.origin, {view.origin.x + view.size.x, view.origin.y + view.size.y}};
  s.canvas_hovered = ImGui::IsWindowHovered() && s.canvas_screen.contains(io.MousePos);
  const bool over_minimap = s.minimap_screen.contains(io.MousePos);

  // The view: restored from the document, or fitted to the graph, once per document.
  if (!s.view_initialised) {
    const ViewState saved = doc.view();
    layout_nodes(s);
    if (!(saved == ViewState{})) {
      view.scroll = {saved.offset.x, saved.offset.y};
      view.zoom = std::clamp(saved.zoom, CanvasView::kMinZoom, CanvasView::kMaxZoom) * s.ui_scale;
    } else if (auto bounds = doc.bounds({}, [&](const DocNode& n) { return s.node_size(n); })) {
      view.fit({{bounds->pos.x, bounds->pos.y}, {bounds->max().x, bounds->max().y}}, 40.0f * s.ui_scale);
    } else {
      view.zoom = s.ui_scale;
      view.scroll = {0, 0};
    }
    s.view_initialised = true;
  }
  navigate(view, s.canvas_hovered && !over_minimap && !ImGui::IsAnyItemActive());
  layout_nodes(s);

  // Drawing order, bottom to top: z_order keeps clicked nodes on top.
  std::erase_if(s.z_order, [&](const std::string& id) { return !doc.node(id); });
  if (s.z_order.size() != doc.nodes().size()) {
    const std::set<std::string> ordered(s.z_order.begin(), s.z_order.end());
    for (const auto& [id, node] : doc.nodes())
      if (!ordered.count(id)) s.z_order.push_back(id);
  }
  std::vector<const std::string*> visible_nodes;
  for (const std::string& id : s.z_order)
    if (s.layouts.at(id).visible) visible_nodes.push_back(&id);

  ImDrawList* draw = ImGui::GetWindowDrawList();
  ImGui::PushFont(s.fonts.canvas);
  ImGui::SetWindowFontScale(kCanvasTextSize * view.zoom / s.fonts.canvas->FontSize);
  const float z = view.zoom;
  ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, {5 * z, 2.5f * z});
  ImGui::PushStyleVar(ImGuiStyleVar_FrameRounding, 3 * z);
  ImGui::PushStyleVar(ImGuiStyleVar_GrabMinSize, std::max(6 * z, 2.0f));
  ImGui::PushStyleVar(ImGuiStyleVar_GrabRounding, 2 * z);
  ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, {4 * z, 4 * z});
  ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, {5 * z, 2.5f * z});

  // Channels: 0 grid + groups, 1 notes, 2 wires, 3 reroutes, 4.. nodes, last overlay. Items
  // are submitted top-down (the first submitted wins the mouse), drawn bottom-up by channel.
  const int node_channels = static_cast<int>(visible_nodes.size());
  const int overlay = 4 + node_channels;
  ImDrawListSplitter splitter;
  splitter.Split(draw, overlay + 1);
  splitter.SetCurrentChannel(draw, 0);
  draw_grid(draw, view);

  // While panning (or ready to: Space held) a cover over the whole canvas takes the mouse, so
  // nodes under it neither move nor highlight.
  if (view.panning || (ImGui::IsKeyDown(keys::kSpace) && !io.WantTextInput)) {
    ImGui::SetCursorScreenPos(view.origin);
    ImGui::InvisibleButton("##pan", {std::max(view.size.x, 1.0f), std::max(view.size.y, 1.0f)},
                           ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonMiddle);
    if (ImGui::IsItemHovered()) ImGui::SetMouseCursor(ImGuiMouseCursor_Hand);
  }

  splitter.SetCurrentChannel(draw, overlay);
  s.minimap_screen = {};
  if (s.show_minimap && !doc.nodes().empty()) {
    std::vector<MinimapItem> items;
    for (const Group* group : doc.groups_in_order())
      items.push_back({{{group->rect.pos.x, group->rect.pos.y}, {group->rect.max().x, group->rect.max().y}},
                       theme::kGroupTitle, doc.is_selected(ItemRef::group(group->id))});
    for (const auto& [id, layout] : s.layouts)
      items.push_back({layout.rect, node_color(*doc.node(id), layout.spec), doc.is_selected(ItemRef::node(id))});
    s.minimap_screen = minimap("##minimap", view, items, s.ui_scale);
  }

  splitter.SetCurrentChannel(draw, 3);
  reroute_items(s);
  for (int i = node_channels - 1; i >= 0; --i) {
    const std::string& id = *visible_nodes[static_cast<std::size_t>(i)];
    splitter.SetCurrentChannel(draw, 4 + i);
    node_view(s, *doc.node(id), s.layouts.at(id));
  }
  splitter.SetCurrentChannel(draw, 1);
  note_items(s);
  splitter.SetCurrentChannel(draw, 0);
  group_items(s);

  // The empty canvas: box select, double-click search, context menu, library drops.
  ImGui::SetCursorScreenPos(view.origin);
  ImGui::InvisibleButton("##background", {std::max(view.size.x, 1.0f), std::max(view.size.y, 1.0f)},
                         ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  const bool background_hovered = ImGui::IsItemHovered();
  splitter.SetCurrentChannel(draw, 2);
  draw_wires(s, background_hovered);
  const ImVec2 mouse_canvas = view.to_canvas(io.MousePos);
  if (!view.panning && !s.wire_hovered) {
    if (ImGui::IsItemActivated() && ImGui::IsMouseClicked(ImGuiMouseButton_Left)) {
      s.box_select_start = mouse_canvas;
      s.box_select_add = io.KeyShift;
    }
    if (background_hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) {
      s.box_select_start.reset();
      open_palette(s, {mouse_canvas.x, mouse_canvas.y});
    }
    if (background_hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Right)) {
      s.context_canvas_pos = {mouse_canvas.x, mouse_canvas.y};
      s.open_popup = "canvas_menu";
    }
  }
  if (ImGui::BeginDragDropTarget()) {
    if (const ImGuiPayload* payload = ImGui::AcceptDragDropPayload("DIFFGRAPH_NODE_TYPE")) {
      const std::string type(static_cast<const char*>(payload->Data), static_cast<std::size_t>(payload->DataSize));
      const std::string id = doc.add_node(type, {mouse_canvas.x, mouse_canvas.y});
      doc.select(ItemRef::node(id));
    }
    ImGui::EndDragDropTarget();
  }
  if (view.panning) s.box_select_start.reset();

  splitter.SetCurrentChannel(draw, overlay);
  if (s.box_select_start) {
    const Box box = Box::from_corners(view.to_screen(*s.box_select_start), io.MousePos);
    draw->AddRectFilled(box.min, box.max, theme::kBoxSelectFill);
    draw->AddRect(box.min, box.max, theme::kSelection);
    if (!ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
      const Box area = Box::from_corners(*s.box_select_start, mouse_canvas);
      if (area.width() * view.zoom < 3 && area.height() * view.zoom < 3) {
        if (!s.box_select_add) doc.clear_selection();  // a plain click on the canvas
      } else {
        const auto items = doc.items_in_rect({{area.min.x, area.min.y}, {area.width(), area.height()}}, false,
                                             [&](const DocNode& n) { return s.node_size(n); });
        // A group is picked by its title only when the box covers it whole (dragging inside a
        // group selects nodes, not the group).
        std::vector<ItemRef> picked;
        for (const ItemRef& item : items) {
          if (item.kind == ItemKind::Group) {
            const Group* g = doc.group(item.id);
            if (!(area.min.x <= g->rect.pos.x && area.min.y <= g->rect.pos.y && area.max.x >= g->rect.max().x &&
                  area.max.y >= g->rect.max().y))
              continue;
          }
          picked.push_back(item);
        }
        doc.select(picked, s.box_select_add);
      }
      s.box_select_start.reset();
    }
  }
  wire_drag(s);
  splitter.Merge(draw);

  ImGui::PopStyleVar(6);
  ImGui::SetWindowFontScale(1.0f);
  ImGui::PopFont();
  sync_view_to_document();
}

void EditorUi::sync_view_to_document() {
  UiState& s = state_;
  const ViewState current{{s.view.scroll.x, s.view.scroll.y}, s.view.user_zoom()};
  if (!(current == s.core.document.view())) s.core.document.set_view(current);
}

void EditorUi::canvas_popups() {
  UiState& s = state_;
  Document& doc = s.core.document;
  if (!s.open_popup.empty()) {
    ImGui::OpenPopup(s.open_popup.c_str());
    s.open_popup.clear();
  }
  if (ImGui::BeginPopup("item_menu")) {
    const std::vector<std::string> nodes = selected_node_ids(doc);
    if (!nodes.empty()) {
      const DocNode* first = doc.node(nodes.front());
      if (ImGui::MenuItem("Bypass", "Ctrl+B", first && first->bypass)) doc.toggle_bypass(nodes);
      if (ImGui::MenuItem("Collapse", "Alt+C", first && first->collapsed)) doc.set_collapsed(nodes, !(first && first->collapsed));
      if (nodes.size() == 1 && ImGui::MenuItem("Rename...")) {
        s.renaming = nodes.front();
        s.rename_text = first ? node_title(*first, doc.spec(first->id)) : "";
        s.open_popup = "rename";
      }
      if (ImGui::MenuItem("Run up to here")) {
        if (!s.core.session.start(doc, nodes)) run();
      }
    }
    if (s.context_item && s.context_item->kind == ItemKind::Group && ImGui::MenuItem("Rename...")) {
      s.renaming = s.context_item->id;
      s.rename_text = doc.group(s.context_item->id) ? doc.group(s.context_item->id)->title : "";
      s.open_popup = "rename";
    }
    if (ImGui::BeginMenu("Colour")) {
      static constexpr std::array<std::pair<const char*, Color>, 6> kColors{{{"red", {150, 60, 60, 255}},
                                                                             {"green", {60, 130, 70, 255}},
                                                                             {"blue", {60, 90, 160, 255}},
                                                                             {"yellow", {160, 140, 50, 255}},
                                                                             {"purple", {120, 70, 150, 255}},
                                                                             {"grey", {90, 95, 105, 255}}}};
      if (ImGui::MenuItem("default")) doc.set_color(doc.selected_items(), std::nullopt);
      for (const auto& [name, color] : kColors)
        if (ImGui::MenuItem(name)) doc.set_color(doc.selected_items(), color);
      ImGui::EndMenu();
    }
    ImGui::Separator();
    if (ImGui::MenuItem("Duplicate", "Ctrl+D")) doc.duplicate(with_group_contents(s, doc.selected_items()));
    if (ImGui::MenuItem("Copy", "Ctrl+C")) copy_selection(false);
    if (ImGui::MenuItem("Group selection", "Ctrl+G"))
      doc.add_group_around(doc.selected_items(), "Group", [&](const DocNode& n) { return s.node_size(n); });
    if (ImGui::MenuItem("Delete", "Del")) doc.remove(doc.selected_items());
    ImGui::EndPopup();
  }
  if (ImGui::BeginPopup("wire_menu")) {
    if (s.context_wire && ImGui::MenuItem("Add reroute")) doc.insert_reroute(*s.context_wire, s.context_canvas_pos);
    if (s.context_wire && ImGui::MenuItem("Delete wire")) doc.disconnect(*s.context_wire);
    ImGui::EndPopup();
  }
  if (ImGui::BeginPopup("canvas_menu")) {
    const Vec2 at = s.context_canvas_pos;
    if (ImGui::MenuItem("Add node...", "Tab")) open_palette(s, at);
    if (ImGui::MenuItem("Add note")) doc.select(ItemRef::note(doc.add_note({at, {260, 120}}, "")));
    if (ImGui::MenuItem("Add group")) doc.select(ItemRef::group(doc.add_group("Group", {at, {400, 260}})));
    if (ImGui::MenuItem("Add reroute")) doc.select(ItemRef::reroute(doc.add_reroute(at)));
    ImGui::Separator();
    if (ImGui::MenuItem("Paste", "Ctrl+V")) paste(false);
    if (ImGui::MenuItem("Select all", "Ctrl+A")) doc.select_all();
    if (ImGui::MenuItem("Fit view", "Home")) fit_view();
    ImGui::EndPopup();
  }
  if (ImGui::BeginPopup("rename")) {
    if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
    const bool done = ImGui::InputText("##name", &s.rename_text, ImGuiInputTextFlags_EnterReturnsTrue | ImGuiInputTextFlags_AutoSelectAll);
    if (done) {
      if (doc.node(s.renaming)) {
        const NodeSpec* spec = doc.spec(s.renaming);
        // Typing the type's own name back clears the override.
        doc.set_title(ItemRef::node(s.renaming), spec && s.rename_text == display_name(*spec) ? "" : s.rename_text);
      } else if (doc.group(s.renaming)) {
        doc.set_title(ItemRef::group(s.renaming), s.rename_text);
      }
      ImGui::CloseCurrentPopup();
    }
    if (key_pressed(keys::kEscape)) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
  }
}

// --- commands -------------------------------------------------------------------------------

void EditorUi::copy_selection(bool cut) {
  Document& doc = state_.core.document;
  const auto items = with_group_contents(state_, doc.selected_items());
  if (items.empty()) return;
  ImGui::SetClipboardText(doc.copy(items).c_str());
  if (cut) doc.remove(items);
  state_.message(std::string(cut ? "cut " : "copied ") + std::to_string(items.size()) + " item(s)");
}

void EditorUi::paste(bool keep_links) {
  const char* text = ImGui::GetClipboardText();
  if (!text || !*text) return;
  PasteOptions options;
  options.keep_outside_links = keep_links;
  if (state_.canvas_screen.contains(ImGui::GetIO().MousePos)) {
    const ImVec2 at = state_.view.to_canvas(ImGui::GetIO().MousePos);
    options.position = Vec2{at.x, at.y};
  }
  try {
    const auto pasted = state_.core.document.paste(text, options);
    state_.message("pasted " + std::to_string(pasted.size()) + " item(s)");
  } catch (const std::exception&) {
    state_.message("the clipboard holds no diffgraph nodes", true);
  }
}

void EditorUi::shortcuts() {
  UiState& s = state_;
  Document& doc = s.core.document;
  const ImGuiIO& io = ImGui::GetIO();
  const bool ctrl = io.KeyCtrl, shift = io.KeyShift, alt = io.KeyAlt;
  auto pressed = [&](int key) { return key_pressed(key); };

  // These work even while typing in a widget.
  if (ctrl && (pressed(keys::kEnter) || pressed(keys::kKeypadEnter))) run();
  if (ctrl && !shift && pressed(keys::letter('S'))) save();
  if (ctrl && shift && pressed(keys::letter('S'))) open_save_dialog(s, PendingAction::None);
  if (ctrl && pressed(keys::letter('Q'))) request_close();
  if (io.WantTextInput || ImGui::IsPopupOpen(nullptr, ImGuiPopupFlags_AnyPopupId | ImGuiPopupFlags_AnyPopupLevel)) return;

  if (pressed(keys::kEscape)) {
    if (s.core.session.running()) {
      s.core.session.cancel();
      s.message("cancelling at the next step...");
    } else {
      doc.clear_selection();
    }
  }
  if (ctrl && !shift && pressed(keys::letter('Z'))) {
    if (doc.undo()) s.message("undo");
  }
  if ((ctrl && shift && pressed(keys::letter('Z'))) || (ctrl && pressed(keys::letter('Y')))) {
    if (doc.redo()) s.message("redo");
  }
  if (ctrl && pressed(keys::letter('N'))) file_action(PendingAction::New);
  if (ctrl && pressed(keys::letter('O'))) file_action(PendingAction::Open);
  if (ctrl && pressed(keys::letter('A'))) doc.select_all();
  if (ctrl && pressed(keys::letter('C'))) copy_selection(false);
  if (ctrl && pressed(keys::letter('X'))) copy_selection(true);
  if (ctrl && pressed(keys::letter('V'))) paste(shift);
  if (ctrl && pressed(keys::letter('D'))) {
    const auto items = with_group_contents(s, doc.selected_items());
    if (!items.empty()) doc.duplicate(items);
  }
  if (ctrl && pressed(keys::letter('B'))) {
    const auto nodes = selected_node_ids(doc);
    if (!nodes.empty()) doc.toggle_bypass(nodes);
  }
  if (ctrl && pressed(keys::letter('G')) && !doc.selection().empty())
    doc.select(ItemRef::group(doc.add_group_around(doc.selected_items(), "Group", [&](const DocNode& n) { return s.node_size(n); })));
  if (ctrl && shift && pressed(keys::letter('R'))) reload_plugins_action(s);
  if (alt && pressed(keys::letter('C'))) {
    const auto nodes = selected_node_ids(doc);
    if (!nodes.empty()) {
      const DocNode* first = doc.node(nodes.front());
      doc.set_collapsed(nodes, !(first && first->collapsed));
    }
  }
  if (!ctrl && (pressed(keys::kDelete) || pressed(keys::kBackspace)) && !doc.selection().empty()) {
    doc.remove(doc.selected_items());
  }
  if (!ctrl && !alt && (pressed(keys::kHome) || pressed(keys::letter('F')))) fit_view();
  if (pressed(keys::kF1)) s.show_shortcuts = !s.show_shortcuts;
  if (!ctrl && pressed(keys::kTab) && s.canvas_screen.contains(io.MousePos)) {
    const ImVec2 at = s.view.to_canvas(io.MousePos);
    open_palette(s, {at.x, at.y});
  }
}

void EditorUi::menu_bar() {
  UiState& s = state_;
  Document& doc = s.core.document;
  if (!ImGui::BeginMainMenuBar()) return;
  if (ImGui::BeginMenu("File")) {
    if (ImGui::MenuItem("New", "Ctrl+N")) file_action(PendingAction::New);
    if (ImGui::MenuItem("Open...", "Ctrl+O")) file_action(PendingAction::Open);
    if (ImGui::BeginMenu("Open Recent", !s.core.recent.entries().empty())) {
      for (const auto& path : s.core.recent.entries())
        if (ImGui::MenuItem(path.string().c_str())) file_action(PendingAction::OpenPath, path);
      ImGui::Separator();
      if (ImGui::MenuItem("Clear list")) s.core.recent.clear();
      ImGui::EndMenu();
    }
    if (ImGui::MenuItem("Save", "Ctrl+S")) save();
    if (ImGui::MenuItem("Save As...", "Ctrl+Shift+S")) open_save_dialog(s, PendingAction::None);
    ImGui::Separator();
    if (ImGui::MenuItem("Quit", "Ctrl+Q")) request_close();
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Edit")) {
    const std::string undo = doc.can_undo() ? "Undo " + doc.undo_label() : "Undo";
    const std::string redo = doc.can_redo() ? "Redo " + doc.redo_label() : "Redo";
    if (ImGui::MenuItem(undo.c_str(), "Ctrl+Z", false, doc.can_undo())) doc.undo();
    if (ImGui::MenuItem(redo.c_str(), "Ctrl+Shift+Z", false, doc.can_redo())) doc.redo();
    ImGui::Separator();
    const bool any = !doc.selection().empty();
    if (ImGui::MenuItem("Cut", "Ctrl+X", false, any)) copy_selection(true);
    if (ImGui::MenuItem("Copy", "Ctrl+C", false, any)) copy_selection(false);
    if (ImGui::MenuItem("Paste", "Ctrl+V")) paste(false);
    if (ImGui::MenuItem("Paste with links", "Ctrl+Shift+V")) paste(true);
    if (ImGui::MenuItem("Duplicate", "Ctrl+D", false, any)) doc.duplicate(with_group_contents(s, doc.selected_items()));
    if (ImGui::MenuItem("Delete", "Del", false, any)) doc.remove(doc.selected_items());
    if (ImGui::MenuItem("Select all", "Ctrl+A")) doc.select_all();
    ImGui::Separator();
    if (ImGui::MenuItem("Bypass", "Ctrl+B", false, any)) doc.toggle_bypass(selected_node_ids(doc));
    if (ImGui::MenuItem("Group selection", "Ctrl+G", false, any))
      doc.add_group_around(doc.selected_items(), "Group", [&](const DocNode& n) { return s.node_size(n); });
    if (ImGui::MenuItem("Add note")) {
      const ImVec2 c = s.view.to_canvas({s.canvas_screen.center().x - 130 * s.view.zoom, s.canvas_screen.center().y - 60 * s.view.zoom});
      doc.select(ItemRef::note(doc.add_note({{c.x, c.y}, {260, 120}}, "")));
    }
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Run")) {
    const bool running = s.core.session.running();
    if (ImGui::MenuItem("Run", "Ctrl+Enter", false, !running)) run();
    if (ImGui::MenuItem("Cancel", "Escape", false, running)) s.core.session.cancel();
    if (ImGui::MenuItem("Validate")) {
      const auto problems = s.core.session.validate(doc);
      s.message(problems.empty() ? "the graph is valid" : std::to_string(problems.size()) + " problem(s): see the marked nodes",
                !problems.empty());
    }
    ImGui::Separator();
    if (ImGui::MenuItem("Clear cache", nullptr, false, !running)) s.core.session.clear_cache();
    if (ImGui::MenuItem("Rescan model folders")) s.core.choices.refresh();
    if (ImGui::MenuItem("Reload plugins", "Ctrl+Shift+R", false, !running)) reload_plugins_action(s);
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("View")) {
    if (ImGui::MenuItem("Fit graph", "Home")) fit_view();
    if (ImGui::MenuItem("Zoom 100%")) s.view.zoom_at(s.canvas_screen.center(), s.ui_scale);
    ImGui::MenuItem("Minimap", nullptr, &s.show_minimap);
    ImGui::MenuItem("Sidebar", nullptr, &s.show_sidebar);
    if (ImGui::BeginMenu("UI scale")) {
      for (float scale : {1.0f, 1.25f, 1.5f, 1.75f, 2.0f, 2.5f, 3.0f}) {
        const std::string label = std::to_string(static_cast<int>(std::lround(scale * 100))) + " %";
        if (ImGui::MenuItem(label.c_str(), nullptr, std::fabs(scale - s.ui_scale) < 0.01f)) s.requested_scale = scale;
      }
      ImGui::EndMenu();
    }
    ImGui::Separator();
    ImGui::MenuItem("Shortcuts", "F1", &s.show_shortcuts);
    ImGui::EndMenu();
  }
  // Run / Cancel at the right end of the bar, where it is always one click away.
  const bool running = s.core.session.running();
  const char* label = running ? "Cancel" : "Run";
  const float w = ImGui::CalcTextSize(label).x + ImGui::GetStyle().FramePadding.x * 2;
  ImGui::SetCursorPosX(ImGui::GetWindowWidth() - w - 12 * s.ui_scale);
  ImGui::PushStyleColor(ImGuiCol_Button, running ? ImVec4(0.55f, 0.22f, 0.2f, 1) : ImVec4(0.2f, 0.45f, 0.28f, 1));
  if (ImGui::SmallButton(label)) {
    if (running) s.core.session.cancel();
    else run();
  }
  ImGui::PopStyleColor();
  ImGui::EndMainMenuBar();
}

// --- files ----------------------------------------------------------------------------------

void EditorUi::request_close() { file_action(PendingAction::Close); }

void EditorUi::drop_files(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    const std::filesystem::path p(path);
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".json" || ext == ".png") {
      file_action(PendingAction::OpenPath, p);
      return;
    }
  }
  if (!paths.empty()) state_.message("drop a workflow .json or a PNG saved by diffgraph", true);
}

void EditorUi::file_action(PendingAction action, const std::filesystem::path& path) {
  UiState& s = state_;
  if (s.core.document.dirty()) {
    // Unsaved changes are never dropped silently: ask first (prompts.cpp finishes the action).
    s.pending = action;
    s.pending_path = path;
    s.unsaved_prompt_requested = true;
    return;
  }
  do_action(action, path);
}

void EditorUi::do_action(PendingAction action, const std::filesystem::path& path) {
  UiState& s = state_;
  switch (action) {
    case PendingAction::New:
      s.core.document.clear();
      s.core.session.clear_states();
      s.z_order.clear();
      s.view_initialised = false;
      break;
    case PendingAction::Open: open_open_dialog(s); break;
    case PendingAction::OpenPath: open_file(path); break;
    case PendingAction::Close: s.quit = true; break;
    case PendingAction::None: break;
  }
}

bool EditorUi::save() {
  UiState& s = state_;
  Document& doc = s.core.document;
  if (doc.path().empty()) {
    open_save_dialog(s, PendingAction::None);
    return false;
  }
  try {
    doc.save();
    s.core.recent.add(doc.path());
    if (s.core.backup) s.core.backup->discard(doc);
    s.message("saved " + doc.path().string());
    return true;
  } catch (const std::exception& e) {
    s.message(e.what(), true);
    return false;
  }
}

void EditorUi::prompts() {
  UiState& s = state_;
  const PromptResult result = unsaved_changes_prompt(s);
  if (result == PromptResult::Save) {
    if (save()) do_action(std::exchange(s.pending, PendingAction::None), s.pending_path);
    else if (s.core.document.path().empty()) s.file_dialog.then = std::exchange(s.pending, PendingAction::None);
  } else if (result == PromptResult::Discard) {
    if (s.core.backup) s.core.backup->discard(s.core.document);
    do_action(std::exchange(s.pending, PendingAction::None), s.pending_path);
  } else if (result == PromptResult::Cancel) {
    s.pending = PendingAction::None;
  }
  if (const auto done = file_dialog(s)) {
    // A Save As chosen from the unsaved-changes prompt continues with the pending action.
    if (done->saved) {
      const PendingAction then = std::exchange(s.file_dialog.then, PendingAction::None);
      if (then != PendingAction::None) do_action(then, s.pending_path);
    } else {
      do_action(PendingAction::OpenPath, done->path);  // unsaved changes were settled before the dialog
    }
  }
  backup_prompt(s);
}

}  // namespace diffgraph::editor::ui
