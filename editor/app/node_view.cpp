// Nodes on the canvas: layout, look and mouse handling (node_view.hpp).
#include "node_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <imgui_internal.h>

#include "links.hpp"
#include "node_widgets.hpp"

namespace diffgraph::editor::ui {

namespace {

bool is_picture_node(const NodeSpec* spec) {
  // Output nodes with an IMAGE input (SaveImage, PreviewImage) always keep room for their
  // picture, so the layout does not jump when the first image arrives.
  if (!spec || !spec->output_node) return false;
  return std::any_of(spec->inputs.begin(), spec->inputs.end(), [](const InputSpec& in) { return in.type == "IMAGE"; });
}

float widget_rows(const InputSpec& input) { return input.multiline ? 3.6f : 1.0f; }

ImU32 state_color(NodeRunState state) {
  switch (state) {
    case NodeRunState::Running: return theme::kRunning;
    case NodeRunState::Cached: return theme::kCached;
    case NodeRunState::Failed: return theme::kFailed;
    case NodeRunState::Queued: return IM_COL32(160, 165, 175, 160);
    case NodeRunState::Done: return IM_COL32(90, 200, 120, 150);
    case NodeRunState::Idle: break;
  }
  return 0;
}

// The pictures a node shows: its output images, or while running (and until images arrive)
// its live preview.
struct Shown {
  PicturePtr picture;
  std::string source;
};

std::vector<Shown> shown_pictures(const NodeRunStatus* status) {
  std::vector<Shown> out;
  if (!status) return out;
  if (status->state == NodeRunState::Running && status->preview) return {{status->preview, "preview"}};
  std::size_t file_index = 0;
  for (const PicturePtr& picture : status->images) {
    std::string source = "output";
    // Results are recorded in picture order ({"image": "output/x_00001.png"}): pair them up.
    while (file_index < status->results.size()) {
      const auto& result = status->results[file_index++];
      if (result.is_object() && result.contains("image") && result["image"].is_string()) {
        source = result["image"].get<std::string>();
        break;
      }
    }
    out.push_back({picture, source});
  }
  if (out.empty() && status->preview) out.push_back({status->preview, "preview"});
  return out;
}

}  // namespace

std::string node_title(const DocNode& node, const NodeSpec* spec) {
  if (!node.title.empty()) return node.title;
  if (!spec) return node.type + " (missing)";
  return display_name(*spec);
}

ImU32 type_color(const Registry* registry, std::string_view type) {
  if (registry && type != "*" && !type.empty())
    if (const TypeInfo* info = registry->find_type(type)) return IM_COL32(info->color.r, info->color.g, info->color.b, 255);
  return IM_COL32(170, 170, 170, 255);
}

ImU32 node_color(const DocNode& node, const NodeSpec* spec) {
  if (node.color) return IM_COL32(node.color->r, node.color->g, node.color->b, 255);
  if (!spec) return IM_COL32(120, 40, 40, 255);
  return theme::category_color(spec->category);
}

NodeLayout layout_node(const UiState& state, const DocNode& node) {
  const Document& doc = state.core.document;
  NodeLayout layout;
  layout.spec = doc.spec(node.id);
  const float width = node.size ? node.size->x : theme::kNodeWidth;
  const float x = node.pos.x, y = node.pos.y;
  float cursor = y + theme::kTitleHeight;

  // Pins: a missing type still shows what the document knows (its inputs, and the outputs
  // other nodes are wired to), so wires stay attached.
  std::vector<std::pair<std::string, std::string>> link_inputs;  // name, type
  std::vector<const InputSpec*> widget_inputs;
  std::vector<std::pair<std::string, std::string>> outputs;
  if (layout.spec) {
    for (const InputSpec& input : layout.spec->inputs) {
      if (input.widget) widget_inputs.push_back(&input);
      else link_inputs.emplace_back(input.name, input.type);
    }
    for (const OutputSpec& output : layout.spec->outputs) outputs.emplace_back(output.name, output.type);
  } else {
    for (const auto& [name, value] : node.inputs) link_inputs.emplace_back(name, "");
    for (const Wire& wire : state.wires)
      if (wire.from.item == node.id && !wire.from.is_reroute() &&
          std::none_of(outputs.begin(), outputs.end(), [&](const auto& o) { return o.first == wire.from.output; }))
        outputs.emplace_back(wire.from.output, "");
  }

  auto connected_in = [&](const std::string& name) { return state.wired_inputs.count({node.id, name}) > 0; };
  if (node.collapsed) {
    const float mid = y + theme::kTitleHeight * 0.5f;
    for (const auto& [name, type] : link_inputs) layout.inputs.push_back({name, type, {x, mid}, connected_in(name)});
    for (const InputSpec* input : widget_inputs)
      layout.inputs.push_back({input->name, input->type, {x, mid}, connected_in(input->name)});
    for (const auto& [name, type] : outputs) layout.outputs.push_back({name, type, {x + width, mid}, true});
    layout.rect = {{x, y}, {x + width, cursor}};
    return layout;
  }

  const std::size_t slots = std::max(link_inputs.size(), outputs.size());
  cursor += 4.0f;
  for (std::size_t i = 0; i < slots; ++i) {
    const float mid = cursor + theme::kRowHeight * 0.5f;
    if (i < link_inputs.size())
      layout.inputs.push_back({link_inputs[i].first, link_inputs[i].second, {x, mid}, connected_in(link_inputs[i].first)});
    if (i < outputs.size()) layout.outputs.push_back({outputs[i].first, outputs[i].second, {x + width, mid}, false});
    cursor += theme::kRowHeight;
  }
  for (const InputSpec* input : widget_inputs) {
    const float height = theme::kRowHeight * widget_rows(*input);
    layout.inputs.push_back({input->name, input->type, {x, cursor + theme::kRowHeight * 0.5f}, connected_in(input->name)});
    layout.widgets.push_back({input, cursor, height});
    cursor += height;
  }
  for (PinLayout& output : layout.outputs) output.connected = state.wired_outputs.count({node.id, output.name}) > 0;

  auto status = state.statuses.find(node.id);
  const bool has_pictures = status != state.statuses.end() && !shown_pictures(&status->second).empty();
  if (has_pictures || is_picture_node(layout.spec)) {
    const float side = width - 2 * theme::kPadding;
    layout.image_area = {{x + theme::kPadding, cursor + 4.0f}, {x + width - theme::kPadding, cursor + 4.0f + side}};
    cursor += side + 4.0f;
  }
  cursor += 6.0f;
  if (node.size) cursor = std::max(cursor, y + node.size->y);
  layout.rect = {{x, y}, {x + width, cursor}};
  return layout;
}

void layout_nodes(UiState& state) {
  const Document& doc = state.core.document;
  if (state.wires_revision != doc.content_revision()) {
    state.wires = doc.wires();
    state.wired_inputs.clear();
    state.wired_outputs.clear();
    for (const Wire& wire : state.wires) {
      state.wired_inputs.insert({wire.to.item, wire.to.input});
      state.wired_outputs.insert({wire.from.item, wire.from.output});
    }
    state.wires_revision = doc.content_revision();
  }
  state.layouts.clear();
  const Box visible = state.view.visible();
  for (const auto& [id, node] : state.core.document.nodes()) {
    NodeLayout layout = layout_node(state, node);
    // Room for the error box under a failed node and the pins sticking out at the sides.
    const Box reach{{layout.rect.min.x - 20, layout.rect.min.y - 10}, {layout.rect.max.x + 20, layout.rect.max.y + 140}};
    layout.visible = reach.overlaps(visible);
    state.layouts.emplace(id, std::move(layout));
  }
}

void raise_node(UiState& state, const std::string& id) {
  auto it = std::find(state.z_order.begin(), state.z_order.end(), id);
  if (it != state.z_order.end()) state.z_order.erase(it);
  state.z_order.push_back(id);
}

void item_mouse(UiState& state, const ItemRef& item) {
  Document& doc = state.core.document;
  const ImGuiIO& io = ImGui::GetIO();
  if (ImGui::IsItemActivated()) {
    if (io.KeyShift) doc.toggle_selected(item);
    else if (!doc.is_selected(item)) doc.select(item);
    if (item.kind == ItemKind::Node) raise_node(state, item.id);
    state.moving = false;
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f) && doc.is_selected(item)) {
    if (!state.moving) {
      state.moving = true;
      state.move_key = state.new_merge_key();
    }
    const Vec2 delta{io.MouseDelta.x / state.view.zoom, io.MouseDelta.y / state.view.zoom};
    if (delta.x != 0 || delta.y != 0) {
      // A selected group carries what lies inside it; each item moves once.
      std::vector<ItemRef> items = doc.selected_items();
      for (const ItemRef& selected : doc.selected_items())
        if (selected.kind == ItemKind::Group)
          for (ItemRef& inside : doc.group_contents(selected.id, [&](const DocNode& n) { return state.node_size(n); }))
            if (!doc.is_selected(inside)) items.push_back(std::move(inside));
      std::sort(items.begin(), items.end());
      items.erase(std::unique(items.begin(), items.end()), items.end());
      doc.move(items, delta, state.move_key);
    }
  }
  if (ImGui::IsItemDeactivated()) {
    // A click (no drag) on an already selected item selects it alone, as in other editors.
    if (!state.moving && !io.KeyShift && doc.is_selected(item) && doc.selection().size() > 1) doc.select(item);
    if (state.moving) doc.end_merge();
    state.moving = false;
  }
  if (ImGui::IsItemClicked(ImGuiMouseButton_Right)) {
    if (!doc.is_selected(item)) doc.select(item);
    state.context_item = item;
    state.open_popup = "item_menu";
  }
}

void node_view(UiState& state, const DocNode& node, const NodeLayout& layout) {
  Document& doc = state.core.document;
  const CanvasView& view = state.view;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float z = view.zoom;
  const Box r = view.to_screen(layout.rect);
  const float title_h = theme::kTitleHeight * z;
  const float rounding = theme::kNodeRounding * z;
  const bool selected = doc.is_selected(ItemRef::node(node.id));
  const bool detailed = view.user_zoom() >= theme::kDetailZoom;
  const NodeRunStatus* status = nullptr;
  if (auto it = state.statuses.find(node.id); it != state.statuses.end()) status = &it->second;
  const ImU32 title_color = node_color(node, layout.spec);

  ImGui::PushID(node.id.c_str());

  // --- chrome -----------------------------------------------------------------------------
  draw->AddRectFilled({r.min.x + 3 * z, r.min.y + 4 * z}, {r.max.x + 3 * z, r.max.y + 4 * z}, IM_COL32(0, 0, 0, 70), rounding);
  draw->AddRectFilled(r.min, r.max, node.bypass ? theme::with_alpha(theme::kNodeBody, 0.55f) : theme::kNodeBody, rounding);
  const ImDrawFlags title_corners = node.collapsed ? ImDrawFlags_RoundCornersAll : ImDrawFlags_RoundCornersTop;
  draw->AddRectFilled(r.min, {r.max.x, r.min.y + title_h}, node.bypass ? theme::shade(title_color, 0.55f) : title_color,
                      rounding, title_corners);
  if (status && status->state == NodeRunState::Running && status->total > 0) {
    // Progress fills the title bar from the left.
    const float fraction = std::clamp(static_cast<float>(status->step) / static_cast<float>(status->total), 0.0f, 1.0f);
    draw->AddRectFilled({r.min.x, r.min.y + title_h - 4 * z}, {r.max.x, r.min.y + title_h}, theme::kProgressBack);
    draw->AddRectFilled({r.min.x, r.min.y + title_h - 4 * z}, {r.min.x + r.width() * fraction, r.min.y + title_h},
                        theme::kRunning);
  }
  if (node.bypass) draw->AddRectFilled(r.min, r.max, theme::kBypassTint, rounding);

  // Title text, with the state on the right ("12/20", "cached", "failed").
  std::string right;
  if (status) {
    if (status->state == NodeRunState::Running) right = status->total > 0 ? std::to_string(status->step) + "/" + std::to_string(status->total) : "running";
    else if (status->state == NodeRunState::Cached) right = "cached";
    else if (status->state == NodeRunState::Failed) right = "failed";
    else if (status->state == NodeRunState::Queued) right = "queued";
    else if (status->state == NodeRunState::Done && status->seconds > 0) {
      char text[32];
      std::snprintf(text, sizeof text, "%.2fs", status->seconds);
      right = text;
    }
  }
  if (node.bypass) right = right.empty() ? "bypassed" : "bypassed  " + right;
  const float font_px = ImGui::GetFontSize();
  if (font_px * 0.7f >= 4.0f) {
    const float text_y = r.min.y + (title_h - font_px) * 0.5f;
    float right_w = 0;
    if (!right.empty()) {
      right_w = ImGui::CalcTextSize(right.c_str()).x;
      const ImU32 color = status && status->state == NodeRunState::Failed ? theme::kFailed : theme::kNodeText;
      draw->AddText({r.max.x - right_w - theme::kPadding * z, text_y}, theme::with_alpha(color, 0.85f), right.c_str());
    }
    const std::string title = node_title(node, layout.spec);
    const ImVec4 clip{r.min.x, r.min.y, r.max.x - right_w - 2 * theme::kPadding * z, r.min.y + title_h};
    draw->AddText(nullptr, 0.0f, {r.min.x + theme::kPadding * z + (node.collapsed ? 6 * z : 0), text_y},
                  layout.spec ? theme::kNodeText : theme::kFailed, title.c_str(), nullptr, 0.0f, &clip);
  }

  // Border: selection wins, then the run state.
  const ImU32 border = selected ? theme::kSelection : (status ? state_color(status->state) : 0);
  draw->AddRect(r.min, r.max, border ? border : theme::kNodeBorder, rounding, 0, (selected || border ? 2.0f : 1.0f) * std::max(z, 0.75f));

  // --- pins and widgets ---------------------------------------------------------------------
  const Registry* registry = doc.registry().get();
  for (const PinLayout& pin : layout.inputs) pin_item(state, node.id, pin, false, type_color(registry, pin.type));
  for (const PinLayout& pin : layout.outputs) pin_item(state, node.id, pin, true, type_color(registry, pin.type));
  if (!node.collapsed && detailed) {
    for (std::size_t i = 0; i < layout.inputs.size(); ++i) {
      const PinLayout& pin = layout.inputs[i];
      const bool is_widget_row = std::any_of(layout.widgets.begin(), layout.widgets.end(), [&](const WidgetRow& w) { return w.input->name == pin.name; });
      if (is_widget_row) continue;
      const ImVec2 p = view.to_screen(pin.pos);
      draw->AddText({p.x + 10 * z, p.y - font_px * 0.5f}, theme::kNodeTextDim, pin.name.c_str());
    }
    for (const PinLayout& pin : layout.outputs) {
      const ImVec2 p = view.to_screen(pin.pos);
      const float w = ImGui::CalcTextSize(pin.name.c_str()).x;
      draw->AddText({p.x - 10 * z - w, p.y - font_px * 0.5f}, theme::kNodeTextDim, pin.name.c_str());
    }
    node_widgets(state, node, layout);
  }

  // --- pictures -----------------------------------------------------------------------------
  if (!node.collapsed && layout.image_area.width() > 0) {
    const Box area = view.to_screen(layout.image_area);
    const std::vector<Shown> pictures = shown_pictures(status);
    draw->AddRectFilled(area.min, area.max, IM_COL32(22, 23, 27, 255), 3 * z);
    if (pictures.empty()) {
      const char* text = "no image yet";
      const ImVec2 size = ImGui::CalcTextSize(text);
      draw->AddText({area.center().x - size.x * 0.5f, area.center().y - size.y * 0.5f}, theme::kNodeTextDim, text);
    } else {
      // Several pictures (a batch) share the area in a grid.
      const int count = static_cast<int>(pictures.size());
      const int columns = static_cast<int>(std::ceil(std::sqrt(static_cast<float>(count))));
      const int rows = (count + columns - 1) / columns;
      const float cell_w = area.width() / static_cast<float>(columns), cell_h = area.height() / static_cast<float>(rows);
      for (int i = 0; i < count; ++i) {
        const Picture& picture = *pictures[static_cast<std::size_t>(i)].picture;
        if (picture.image.width <= 0 || picture.image.height <= 0) continue;
        const Texture texture = state.textures.get("picture:" + node.id + ":" + std::to_string(i), picture.version,
                                                   picture.image.width, picture.image.height, picture.image.rgba.data());
        const float scale = std::min(cell_w / static_cast<float>(picture.image.width), cell_h / static_cast<float>(picture.image.height));
        const float w = static_cast<float>(picture.image.width) * scale, h = static_cast<float>(picture.image.height) * scale;
        const ImVec2 cell{area.min.x + cell_w * static_cast<float>(i % columns), area.min.y + cell_h * static_cast<float>(i / columns)};
        const Box shown{{std::round(cell.x + (cell_w - w) * 0.5f), std::round(cell.y + (cell_h - h) * 0.5f)},
                        {std::round(cell.x + (cell_w + w) * 0.5f), std::round(cell.y + (cell_h + h) * 0.5f)}};
        draw->AddImage(texture.id, shown.min, shown.max);
        state.report.images.push_back({node.id, pictures[static_cast<std::size_t>(i)].source, shown});
      }
    }
  }

  // --- problems under the node -------------------------------------------------------------
  if (status && (status->state == NodeRunState::Failed || !status->problems.empty() || !status->warnings.empty())) {
    std::string text = status->message;
    for (const std::string& problem : status->problems)
      if (problem != status->message) text += (text.empty() ? "" : "\n") + problem;
    const bool only_warnings = text.empty();
    for (const std::string& warning : status->warnings) text += (text.empty() ? "" : "\n") + ("warning: " + warning);
    if (!text.empty() && detailed) {
      const float wrap = r.width() - 2 * theme::kPadding * z;
      const ImVec2 size = ImGui::CalcTextSize(text.c_str(), nullptr, false, wrap);
      const ImVec2 box_min{r.min.x, r.max.y + 4 * z};
      const ImVec2 box_max{r.max.x, box_min.y + size.y + 2 * theme::kPadding * z * 0.75f};
      const ImU32 color = only_warnings ? theme::kWarning : theme::kFailed;
      draw->AddRectFilled(box_min, box_max, theme::shade(color, 0.35f), 4 * z);
      draw->AddRect(box_min, box_max, color, 4 * z);
      draw->AddText(nullptr, 0.0f, {box_min.x + theme::kPadding * z, box_min.y + theme::kPadding * z * 0.375f},
                    theme::kNodeText, text.c_str(), nullptr, wrap);
    }
  }

  // --- body: select, move, context menu ---------------------------------------------------
  ImGui::SetCursorScreenPos(r.min);
  ImGui::InvisibleButton("##body", {std::max(r.width(), 1.0f), std::max(r.height(), 1.0f)},
                         ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  item_mouse(state, ItemRef::node(node.id));
  if (ImGui::IsItemHovered() && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left) &&
      ImGui::GetIO().MousePos.y < r.min.y + title_h) {
    // Double-click on the title: rename.
    state.renaming = node.id;
    state.rename_text = node.title.empty() ? node_title(node, layout.spec) : node.title;
    state.open_popup = "rename";
  }
  if (layout.spec && ImGui::IsItemHovered() && !layout.spec->description.empty() && ImGui::GetIO().MousePos.y < r.min.y + title_h &&
      GImGui->HoveredIdTimer > 0.8f)
    ImGui::SetTooltip("%s\n%s", layout.spec->type.c_str(), layout.spec->description.c_str());

  state.report.nodes.push_back({node.id, node.type, r, {r.min, {r.max.x, r.min.y + title_h}}, title_color});
  ImGui::PopID();
}

}  // namespace diffgraph::editor::ui
