/// @file canvas.hpp
/// The infinite canvas the graph is drawn on: the view transform between canvas units (what
/// node positions in a workflow file are measured in) and screen pixels, panning, zooming
/// around the cursor, fit-to-view, the grid and the minimap.
#pragma once

#include <span>

#include <imgui.h>

namespace diffgraph::editor::ui {

/// An axis-aligned rectangle (min inclusive, max exclusive), in whatever space its user says.
struct Box {
  ImVec2 min{0, 0}, max{0, 0};
  float width() const { return max.x - min.x; }
  float height() const { return max.y - min.y; }
  ImVec2 center() const { return {(min.x + max.x) * 0.5f, (min.y + max.y) * 0.5f}; }
  bool contains(ImVec2 p) const { return p.x >= min.x && p.y >= min.y && p.x < max.x && p.y < max.y; }
  bool overlaps(const Box& o) const { return min.x < o.max.x && o.min.x < max.x && min.y < o.max.y && o.min.y < max.y; }
  /// The smallest rectangle holding both (an empty `*this`, width and height 0 at the origin,
  /// is treated as nothing).
  Box united(const Box& o) const;
  /// Corners in any order → a normalised rectangle (box selection drags in any direction).
  static Box from_corners(ImVec2 a, ImVec2 b);
};

/// The view of the canvas: screen = origin + (canvas - scroll) * zoom.
///
/// `origin` and `size` describe the screen area the canvas occupies and are refreshed every
/// frame from the window; `scroll` and `zoom` are the user's view, saved in the workflow's
/// graph-level editor state (divided by `ui_scale`, so a file looks the same on a HiDPI
/// screen) and restored when it is reopened.
struct CanvasView {
  static constexpr float kMinZoom = 0.1f;  ///< of the user zoom (zoom / ui_scale)
  static constexpr float kMaxZoom = 4.0f;

  ImVec2 origin{0, 0};  ///< screen position of the canvas area's top-left corner
  ImVec2 size{0, 0};    ///< screen size of the canvas area
  ImVec2 scroll{0, 0};  ///< canvas point shown at the top-left corner
  float zoom = 1.0f;    ///< screen pixels per canvas unit (user zoom x ui_scale)
  float ui_scale = 1.0f;  ///< the HiDPI scale: 1 canvas unit = ui_scale pixels at user zoom 1
  bool panning = false;   ///< a pan drag is in progress (it outlives the frame it started in)

  ImVec2 to_screen(ImVec2 canvas) const { return {origin.x + (canvas.x - scroll.x) * zoom, origin.y + (canvas.y - scroll.y) * zoom}; }
  ImVec2 to_canvas(ImVec2 screen) const { return {scroll.x + (screen.x - origin.x) / zoom, scroll.y + (screen.y - origin.y) / zoom}; }
  Box to_screen(const Box& canvas) const { return {to_screen(canvas.min), to_screen(canvas.max)}; }
  Box to_canvas(const Box& screen) const { return {to_canvas(screen.min), to_canvas(screen.max)}; }
  /// The part of the canvas currently visible, in canvas units.
  Box visible() const { return {to_canvas(origin), to_canvas({origin.x + size.x, origin.y + size.y})}; }

  /// Moves the view by a mouse delta in screen pixels (the canvas follows the mouse).
  void pan(ImVec2 screen_delta);
  /// The zoom as the user sees it (1 = 100 %).
  float user_zoom() const { return zoom / ui_scale; }
  /// Sets the zoom (user zoom clamped to [kMinZoom, kMaxZoom]) keeping the canvas point under
  /// `screen_point` where it is on screen.
  void zoom_at(ImVec2 screen_point, float new_zoom);
  /// Zooms by one mouse-wheel notch per unit of `wheel` (positive = in) around `screen_point`.
  void zoom_wheel(ImVec2 screen_point, float wheel);
  /// Shows all of `bounds` (canvas units) centred with `margin_pixels` to spare, zooming out as
  /// far as needed but never in beyond 100 % (a lone node should not fill the screen).
  void fit(const Box& bounds, float margin_pixels = 40.0f);
  /// Centres the view on a canvas point, keeping the zoom.
  void center_on(ImVec2 canvas_point);
};

/// Canvas navigation for one frame: the wheel zooms around the cursor, a middle-button drag
/// pans, and so does a left drag while Space is held. `hovered`: the mouse is over the canvas
/// (not over a panel or popup). Returns true while a pan is in progress, so the caller
/// ignores other mouse input.
bool navigate(CanvasView& view, bool hovered);

/// Draws the background and the grid lines (minor every 32 canvas units, major every 8 minor
/// lines); minor lines fade out when zoomed out so the grid never turns into noise.
void draw_grid(ImDrawList* draw, const CanvasView& view);

/// One thing shown on the minimap: a node or a group, in canvas units.
struct MinimapItem {
  Box rect;
  ImU32 color = 0;
  bool selected = false;
};

/// The minimap in the bottom-right corner of the canvas: every item scaled down, the visible
/// area outlined. Clicking or dragging on it centres the view there. Returns the screen
/// rectangle it occupies (empty when there is nothing to show) so canvas input ignores it.
Box minimap(const char* id, CanvasView& view, std::span<const MinimapItem> items, float scale = 1.0f);

}  // namespace diffgraph::editor::ui
