// The add-node search palette (palette.hpp).
#include "palette.hpp"

#include <algorithm>

#include <imgui_stdlib.h>

#include "keys.hpp"
#include "node_view.hpp"

namespace diffgraph::editor::ui {

namespace {

constexpr const char* kPopup = "##palette";

// The display name with the matched characters in the highlight colour.
void highlighted_name(const std::string& name, const std::vector<std::size_t>& positions, bool selected) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  ImVec2 pos = ImGui::GetCursorScreenPos();
  const ImU32 normal = selected ? IM_COL32(255, 255, 255, 255) : ImGui::GetColorU32(ImGuiCol_Text);
  for (std::size_t i = 0; i < name.size(); ++i) {
    const bool hit = std::find(positions.begin(), positions.end(), i) != positions.end();
    const char* begin = name.c_str() + i;
    draw->AddText(pos, hit ? theme::kSelection : normal, begin, begin + 1);
    pos.x += ImGui::CalcTextSize(begin, begin + 1).x;
  }
}

void add_chosen(UiState& state, const SearchHit& hit) {
  Document& doc = state.core.document;
  const PaletteState& palette = state.palette;
  std::string id;
  try {
    if (palette.from || palette.to) id = doc.add_node_connected(hit.type, palette.canvas_pos, palette.from, palette.to);
    else id = doc.add_node(hit.type, palette.canvas_pos);
  } catch (const std::exception& e) {
    state.message(e.what(), true);
    return;
  }
  doc.select(ItemRef::node(id));
  raise_node(state, id);
  state.message("added " + hit.type);
}

}  // namespace

void open_palette(UiState& state, Vec2 canvas_pos) {
  state.palette = {};
  state.palette.open_requested = true;
  state.palette.canvas_pos = canvas_pos;
}

void palette(UiState& state) {
  PaletteState& p = state.palette;
  if (p.open_requested) {
    p.open_requested = false;
    p.open = true;
    p.focus_frames = 2;
    // At the mouse, but moved in so the whole list fits on screen.
    const ImGuiIO& io = ImGui::GetIO();
    const float height = ImGui::GetTextLineHeightWithSpacing() * 14.0f + 40.0f * state.ui_scale;
    const ImVec2 at{std::max(0.0f, std::min(io.MousePos.x, io.DisplaySize.x - 390.0f * state.ui_scale)),
                    std::max(0.0f, std::min(io.MousePos.y, io.DisplaySize.y - height))};
    ImGui::SetNextWindowPos(at, ImGuiCond_Always);
    ImGui::OpenPopup(kPopup);
  }
  if (!p.open) return;
  if (!state.search) return;
  const float scale = state.ui_scale;
  ImGui::SetNextWindowSize({380 * scale, 0});
  if (!ImGui::BeginPopup(kPopup)) {
    p.open = false;  // closed by a click outside
    return;
  }
  if (p.filter) {
    ImGui::TextDisabled("%s %s", p.filter->side == PinSide::Output ? "nodes taking" : "nodes giving", p.filter->type.c_str());
  }
  // Focus the query box when opened (ImGui needs the request on the frames the box appears).
  if (p.focus_frames > 0) {
    ImGui::SetKeyboardFocusHere();
    --p.focus_frames;
  }
  ImGui::SetNextItemWidth(-1);
  ImGui::InputTextWithHint("##query", "search nodes...", &p.query);

  const std::vector<SearchHit> hits = state.search->find(p.query, p.filter, 40);
  if (key_pressed(keys::kDown, true)) p.selected = std::min(p.selected + 1, static_cast<int>(hits.size()) - 1);
  if (key_pressed(keys::kUp, true)) p.selected = std::max(p.selected - 1, 0);
  p.selected = std::clamp(p.selected, 0, std::max(static_cast<int>(hits.size()) - 1, 0));
  bool chosen = !hits.empty() && (key_pressed(keys::kEnter) || key_pressed(keys::kKeypadEnter));
  const bool escape = key_pressed(keys::kEscape);

  const float row_h = ImGui::GetTextLineHeightWithSpacing();
  ImGui::BeginChild("##hits", {0, std::min(static_cast<float>(hits.size()), 12.0f) * row_h + 4 * scale}, false);
  for (int i = 0; i < static_cast<int>(hits.size()); ++i) {
    const SearchHit& hit = hits[static_cast<std::size_t>(i)];
    ImGui::PushID(i);
    const bool selected = i == p.selected;
    const ImVec2 start = ImGui::GetCursorScreenPos();
    if (ImGui::Selectable("##hit", selected)) {
      p.selected = i;
      chosen = true;
    }
    if (selected && (key_pressed(keys::kDown, true) || key_pressed(keys::kUp, true))) ImGui::SetScrollHereY();
    const ImVec2 after = ImGui::GetCursorScreenPos();
    ImGui::SetCursorScreenPos(start);
    const std::string name = hit.spec ? display_name(*hit.spec) : hit.type;
    highlighted_name(name, hit.highlight, selected);
    if (hit.spec) {
      // The category on the right, dimmed; a filtered search names the pin it will wire.
      // Long categories shorten to their last part ("samplers"), and vanish if even that
      // would run into the name.
      const float room = ImGui::GetContentRegionAvail().x - ImGui::CalcTextSize(name.c_str()).x - 16.0f * scale;
      std::string right = hit.spec->category;
      if (!hit.pin.empty()) right = hit.pin + "  " + right;
      if (ImGui::CalcTextSize(right.c_str()).x > room) {
        right = right.substr(right.rfind('/') == std::string::npos ? 0 : right.rfind('/') + 1);
        if (!hit.pin.empty()) right = hit.pin + "  " + right;
      }
      const float w = ImGui::CalcTextSize(right.c_str()).x;
      if (w <= room)
        ImGui::GetWindowDrawList()->AddText({start.x + ImGui::GetContentRegionAvail().x - w, start.y},
                                            ImGui::GetColorU32(ImGuiCol_TextDisabled), right.c_str());
      if (ImGui::IsItemHovered() && !hit.spec->description.empty()) ImGui::SetTooltip("%s", hit.spec->description.c_str());
    }
    ImGui::SetCursorScreenPos(after);
    ImGui::PopID();
  }
  if (hits.empty()) ImGui::TextDisabled("no node matches");
  ImGui::EndChild();

  if (chosen) {
    add_chosen(state, hits[static_cast<std::size_t>(p.selected)]);
  }
  if (chosen || escape) {
    p.open = false;
    ImGui::CloseCurrentPopup();
  }
  ImGui::EndPopup();
}

}  // namespace diffgraph::editor::ui
