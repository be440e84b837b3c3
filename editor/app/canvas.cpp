// The canvas view transform, grid and minimap (canvas.hpp).
#include "canvas.hpp"

#include <algorithm>
#include <cmath>

#include "keys.hpp"
#include "theme.hpp"

namespace diffgraph::editor::ui {

Box Box::united(const Box& o) const {
  const bool empty = width() <= 0 && height() <= 0 && min.x == 0 && min.y == 0;
  if (empty) return o;
  return {{std::min(min.x, o.min.x), std::min(min.y, o.min.y)}, {std::max(max.x, o.max.x), std::max(max.y, o.max.y)}};
}

Box Box::from_corners(ImVec2 a, ImVec2 b) {
  return {{std::min(a.x, b.x), std::min(a.y, b.y)}, {std::max(a.x, b.x), std::max(a.y, b.y)}};
}

void CanvasView::pan(ImVec2 screen_delta) {
  scroll.x -= screen_delta.x / zoom;
  scroll.y -= screen_delta.y / zoom;
}

void CanvasView::zoom_at(ImVec2 screen_point, float new_zoom) {
  const ImVec2 anchor = to_canvas(screen_point);
  zoom = std::clamp(new_zoom, kMinZoom * ui_scale, kMaxZoom * ui_scale);
  // Solve screen_point = origin + (anchor - scroll) * zoom for scroll.
  scroll.x = anchor.x - (screen_point.x - origin.x) / zoom;
  scroll.y = anchor.y - (screen_point.y - origin.y) / zoom;
}

void CanvasView::zoom_wheel(ImVec2 screen_point, float wheel) {
  // 1.15 per notch: ~5 notches double the size, fine enough for a trackpad's fractional wheel.
  zoom_at(screen_point, zoom * std::pow(1.15f, wheel));
}

void CanvasView::fit(const Box& bounds, float margin_pixels) {
  if (bounds.width() <= 0 || bounds.height() <= 0 || size.x <= 0 || size.y <= 0) return;
  const float available_x = std::max(size.x - 2 * margin_pixels, 1.0f);
  const float available_y = std::max(size.y - 2 * margin_pixels, 1.0f);
  zoom = std::clamp(std::min({available_x / bounds.width(), available_y / bounds.height(), ui_scale}),
                    kMinZoom * ui_scale, kMaxZoom * ui_scale);
  center_on(bounds.center());
}

void CanvasView::center_on(ImVec2 canvas_point) {
  scroll.x = canvas_point.x - size.x * 0.5f / zoom;
  scroll.y = canvas_point.y - size.y * 0.5f / zoom;
}

bool navigate(CanvasView& view, bool hovered) {
  bool& panning = view.panning;
  const ImGuiIO& io = ImGui::GetIO();
  const bool space = ImGui::IsKeyDown(keys::kSpace) && !io.WantTextInput;
  if (!panning && hovered && (ImGui::IsMouseClicked(ImGuiMouseButton_Middle) || (space && ImGui::IsMouseClicked(ImGuiMouseButton_Left))))
    panning = true;
  if (panning) {
    if (!ImGui::IsMouseDown(ImGuiMouseButton_Middle) && !ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
      panning = false;
    } else {
      view.pan(io.MouseDelta);
    }
  }
  if (hovered && io.MouseWheel != 0.0f) view.zoom_wheel(io.MousePos, io.MouseWheel);
  return panning;
}

void draw_grid(ImDrawList* draw, const CanvasView& view) {
  const ImVec2 a = view.origin;
  const ImVec2 b{view.origin.x + view.size.x, view.origin.y + view.size.y};
  draw->AddRectFilled(a, b, theme::kCanvasBackground);

  constexpr float kMinor = 32.0f;
  constexpr int kMajorEvery = 8;
  const float step = kMinor * view.zoom;
  // Minor lines closer than 8 px apart are noise: fade them out between 16 and 8 px.
  const float minor_alpha = std::clamp((step - 8.0f) / 8.0f, 0.0f, 1.0f);
  const Box visible = view.visible();
  const auto first_x = static_cast<long long>(std::floor(visible.min.x / kMinor));
  const auto first_y = static_cast<long long>(std::floor(visible.min.y / kMinor));
  const auto last_x = static_cast<long long>(std::ceil(visible.max.x / kMinor));
  const auto last_y = static_cast<long long>(std::ceil(visible.max.y / kMinor));
  auto color_for = [&](long long index) -> ImU32 {
    if (index % kMajorEvery == 0) return theme::kGridMajor;
    return theme::with_alpha(theme::kGridMinor, minor_alpha);
  };
  for (long long i = first_x; i <= last_x; ++i) {
    if (i % kMajorEvery != 0 && minor_alpha <= 0) continue;
    const float x = view.to_screen({static_cast<float>(i) * kMinor, 0}).x;
    draw->AddLine({x, a.y}, {x, b.y}, color_for(i));
  }
  for (long long j = first_y; j <= last_y; ++j) {
    if (j % kMajorEvery != 0 && minor_alpha <= 0) continue;
    const float y = view.to_screen({0, static_cast<float>(j) * kMinor}).y;
    draw->AddLine({a.x, y}, {b.x, y}, color_for(j));
  }
}

Box minimap(const char* id, CanvasView& view, std::span<const MinimapItem> items, float scale) {
  if (items.empty() || view.size.x < 200 || view.size.y < 150) return {};
  Box world = items.front().rect;
  for (const MinimapItem& item : items) world = world.united(item.rect);
  // Only the items decide the map's scale (not the visible area), so dragging the view on the
  // map does not rescale the map under the mouse.
  const float pad = std::max(world.width(), world.height()) * 0.05f + 20.0f;
  world = {{world.min.x - pad, world.min.y - pad}, {world.max.x + pad, world.max.y + pad}};

  const float margin = 10.0f * scale;
  const ImVec2 box_size{std::min(220.0f * scale, view.size.x * 0.3f), std::min(150.0f * scale, view.size.y * 0.3f)};
  const Box box{{view.origin.x + view.size.x - box_size.x - margin, view.origin.y + view.size.y - box_size.y - margin},
                 {view.origin.x + view.size.x - margin, view.origin.y + view.size.y - margin}};
  // The whole world scaled uniformly into the box, centred.
  const float inner = 6.0f * scale;
  const float k = std::min((box.width() - 2 * inner) / std::max(world.width(), 1.0f),
                           (box.height() - 2 * inner) / std::max(world.height(), 1.0f));
  const ImVec2 offset{box.min.x + inner + (box.width() - 2 * inner - world.width() * k) * 0.5f,
                      box.min.y + inner + (box.height() - 2 * inner - world.height() * k) * 0.5f};
  auto to_map = [&](ImVec2 p) { return ImVec2{offset.x + (p.x - world.min.x) * k, offset.y + (p.y - world.min.y) * k}; };

  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(box.min, box.max, theme::kMinimapBackground, 4.0f * scale);
  draw->AddRect(box.min, box.max, theme::kMinimapBorder, 4.0f * scale);
  for (const MinimapItem& item : items) {
    const ImVec2 p0 = to_map(item.rect.min);
    ImVec2 p1 = to_map(item.rect.max);
    p1.x = std::max(p1.x, p0.x + 2.0f);
    p1.y = std::max(p1.y, p0.y + 2.0f);
    draw->AddRectFilled(p0, p1, item.color, 1.0f);
    if (item.selected) draw->AddRect(p0, p1, theme::kSelection);
  }
  const Box visible = view.visible();
  draw->PushClipRect(box.min, box.max, true);
  draw->AddRectFilled(to_map(visible.min), to_map(visible.max), theme::kMinimapViewportFill);
  draw->AddRect(to_map(visible.min), to_map(visible.max), theme::kMinimapViewport);
  draw->PopClipRect();

  // Click or drag on the map: centre the view on that point.
  ImGui::SetCursorScreenPos(box.min);
  ImGui::InvisibleButton(id, {box.width(), box.height()});
  if (ImGui::IsItemActive()) {
    const ImVec2 mouse = ImGui::GetIO().MousePos;
    view.center_on({world.min.x + (mouse.x - offset.x) / k, world.min.y + (mouse.y - offset.y) / k});
  }
  return box;
}

}  // namespace diffgraph::editor::ui
