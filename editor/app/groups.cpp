// Groups and notes on the canvas (groups.hpp).
#include "groups.hpp"

#include <algorithm>

#include <imgui_stdlib.h>

#include "node_view.hpp"

namespace diffgraph::editor::ui {

namespace {

ImU32 item_color(const std::optional<Color>& color, ImU32 fallback, float alpha) {
  if (!color) return fallback;
  return theme::with_alpha(IM_COL32(color->r, color->g, color->b, 255), alpha);
}

// The bottom-right resize handle of a group or note.
void resize_handle(UiState& state, const ItemRef& item, const diffgraph::editor::Rect& rect, ImU32 color) {
  Document& doc = state.core.document;
  const float z = state.view.zoom;
  const ImVec2 corner = state.view.to_screen({rect.pos.x + rect.size.x, rect.pos.y + rect.size.y});
  const float size = std::max(12.0f * z, 8.0f);
  ImGui::SetCursorScreenPos({corner.x - size, corner.y - size});
  ImGui::InvisibleButton("##resize", {size, size});
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddTriangleFilled({corner.x - size * 0.8f, corner.y - 2}, {corner.x - 2, corner.y - size * 0.8f}, {corner.x - 2, corner.y - 2},
                          ImGui::IsItemHovered() || ImGui::IsItemActive() ? theme::kSelection : color);
  if (ImGui::IsItemHovered() || ImGui::IsItemActive()) ImGui::SetMouseCursor(ImGuiMouseCursor_ResizeNWSE);
  if (ImGui::IsItemActivated()) state.widget_key = state.new_merge_key();
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 1.0f)) {
    const ImVec2 mouse = state.view.to_canvas(ImGui::GetIO().MousePos);
    diffgraph::editor::Rect resized = rect;
    resized.size = {std::max(mouse.x - rect.pos.x, 80.0f), std::max(mouse.y - rect.pos.y, 50.0f)};
    if (!(resized == rect)) doc.set_rect(item, resized, state.widget_key);
  }
  if (ImGui::IsItemDeactivated()) doc.end_merge();
}

}  // namespace

void group_items(UiState& state) {
  Document& doc = state.core.document;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float z = state.view.zoom;
  const float title_h = 30.0f * z;
  for (const Group* group : doc.groups_in_order()) {
    const ItemRef ref = ItemRef::group(group->id);
    const Box r = state.view.to_screen(Box{{group->rect.pos.x, group->rect.pos.y}, {group->rect.max().x, group->rect.max().y}});
    if (!r.overlaps(state.canvas_screen)) continue;
    ImGui::PushID(group->id.c_str());
    const ImU32 fill = item_color(group->color, theme::kGroupFill, 0.16f);
    const ImU32 title = item_color(group->color, theme::kGroupTitle, 0.45f);
    draw->AddRectFilled(r.min, r.max, fill, 6 * z);
    draw->AddRectFilled(r.min, {r.max.x, r.min.y + title_h}, title, 6 * z, ImDrawFlags_RoundCornersTop);
    const bool selected = doc.is_selected(ref);
    draw->AddRect(r.min, r.max, selected ? theme::kSelection : theme::with_alpha(title, 1.0f), 6 * z, 0, selected ? 2.0f : 1.0f);
    const float font_px = ImGui::GetFontSize() * 1.15f;
    const ImVec4 clip{r.min.x, r.min.y, r.max.x - 8 * z, r.min.y + title_h};
    draw->AddText(ImGui::GetFont(), font_px, {r.min.x + 10 * z, r.min.y + (title_h - font_px) * 0.5f}, theme::kNodeText,
                  group->title.c_str(), nullptr, 0.0f, &clip);

    ImGui::SetCursorScreenPos(r.min);
    ImGui::InvisibleButton("##title", {std::max(r.width(), 1.0f), std::max(title_h, 1.0f)},
                           ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
    item_mouse(state, ref);
    if (ImGui::IsItemHovered() && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) {
      state.renaming = group->id;
      state.rename_text = group->title;
      state.open_popup = "rename";
    }
    resize_handle(state, ref, group->rect, title);
    ImGui::PopID();
  }
}

void note_items(UiState& state) {
  Document& doc = state.core.document;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float z = state.view.zoom;
  const float strip_h = 18.0f * z;
  for (const Note* note : doc.notes_in_order()) {
    const ItemRef ref = ItemRef::note(note->id);
    const Box r = state.view.to_screen(Box{{note->rect.pos.x, note->rect.pos.y}, {note->rect.max().x, note->rect.max().y}});
    if (!r.overlaps(state.canvas_screen)) continue;
    ImGui::PushID(note->id.c_str());
    const ImU32 body = item_color(note->color, theme::kNoteBody, 0.94f);
    draw->AddRectFilled({r.min.x + 3 * z, r.min.y + 4 * z}, {r.max.x + 3 * z, r.max.y + 4 * z}, IM_COL32(0, 0, 0, 60), 4 * z);
    draw->AddRectFilled(r.min, r.max, body, 4 * z);
    draw->AddRectFilled(r.min, {r.max.x, r.min.y + strip_h}, theme::shade(body, 1.25f), 4 * z, ImDrawFlags_RoundCornersTop);
    const bool selected = doc.is_selected(ref);
    if (selected) draw->AddRect(r.min, r.max, theme::kSelection, 4 * z, 0, 2.0f);

    ImGui::SetCursorScreenPos(r.min);
    ImGui::InvisibleButton("##strip", {std::max(r.width(), 1.0f), std::max(strip_h, 1.0f)},
                           ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
    item_mouse(state, ref);
    // The corner handle before the text box, which would otherwise take the mouse there.
    resize_handle(state, ref, note->rect, theme::shade(body, 1.5f));

    if (view_detailed(state)) {
      std::string text = note->text;
      ImGui::SetCursorScreenPos({r.min.x + 4 * z, r.min.y + strip_h + 2 * z});
      ImGui::PushStyleColor(ImGuiCol_FrameBg, IM_COL32(0, 0, 0, 0));
      const bool changed = ImGui::InputTextMultiline("##text", &text, {r.width() - 8 * z, r.height() - strip_h - 6 * z},
                                                     ImGuiInputTextFlags_NoHorizontalScroll);
      ImGui::PopStyleColor();
      if (ImGui::IsItemActivated()) state.widget_key = state.new_merge_key();
      if (changed) doc.set_note_text(note->id, text, state.widget_key);
      if (ImGui::IsItemDeactivated()) doc.end_merge();
    }
    ImGui::PopID();
  }
}

}  // namespace diffgraph::editor::ui
