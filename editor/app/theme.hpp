/// @file theme.hpp
/// The editor's colours, sizes and fonts in one place, and the HiDPI scale setting.
///
/// Colours are a dark theme close to what node-editor users know (Blender, ComfyUI): a dark
/// grey canvas with a faint grid, nodes a little lighter with a coloured title bar, pins and
/// links in their type's colour (from the registry, so a plugin's types get their own).
#pragma once

#include <cstdint>
#include <string_view>

#include <imgui.h>

namespace diffgraph::editor::ui::theme {

inline constexpr ImU32 kCanvasBackground = IM_COL32(29, 31, 36, 255);
inline constexpr ImU32 kGridMinor = IM_COL32(255, 255, 255, 14);
inline constexpr ImU32 kGridMajor = IM_COL32(255, 255, 255, 34);
inline constexpr ImU32 kNodeBody = IM_COL32(48, 51, 58, 245);
inline constexpr ImU32 kNodeBorder = IM_COL32(16, 17, 20, 255);
inline constexpr ImU32 kNodeText = IM_COL32(225, 228, 235, 255);
inline constexpr ImU32 kNodeTextDim = IM_COL32(150, 155, 165, 255);
inline constexpr ImU32 kSelection = IM_COL32(255, 176, 46, 255);
inline constexpr ImU32 kBoxSelectFill = IM_COL32(255, 176, 46, 30);
inline constexpr ImU32 kRunning = IM_COL32(90, 200, 120, 255);
inline constexpr ImU32 kCached = IM_COL32(95, 150, 235, 255);
inline constexpr ImU32 kFailed = IM_COL32(235, 75, 70, 255);
inline constexpr ImU32 kWarning = IM_COL32(240, 190, 60, 255);
inline constexpr ImU32 kProgressBack = IM_COL32(20, 22, 26, 255);
inline constexpr ImU32 kBypassTint = IM_COL32(150, 80, 200, 110);
inline constexpr ImU32 kGroupFill = IM_COL32(110, 130, 160, 40);
inline constexpr ImU32 kGroupTitle = IM_COL32(110, 130, 160, 110);
inline constexpr ImU32 kNoteBody = IM_COL32(84, 76, 44, 240);
inline constexpr ImU32 kNoteTitle = IM_COL32(140, 120, 50, 255);
inline constexpr ImU32 kMinimapBackground = IM_COL32(20, 21, 25, 220);
inline constexpr ImU32 kMinimapBorder = IM_COL32(80, 84, 94, 255);
inline constexpr ImU32 kMinimapViewport = IM_COL32(235, 235, 240, 200);
inline constexpr ImU32 kMinimapViewportFill = IM_COL32(235, 235, 240, 25);
inline constexpr ImU32 kReroute = IM_COL32(200, 200, 200, 255);

/// Node geometry in canvas units (multiplied by the view's zoom when drawn).
inline constexpr float kNodeWidth = 220.0f;
inline constexpr float kTitleHeight = 26.0f;
inline constexpr float kRowHeight = 24.0f;
inline constexpr float kPinRadius = 5.5f;
inline constexpr float kNodeRounding = 6.0f;
inline constexpr float kPadding = 8.0f;
/// Below this zoom nodes are drawn without widgets or pin labels: unreadable anyway, and it
/// keeps a zoomed-out 1,000-node graph fast.
inline constexpr float kDetailZoom = 0.45f;

/// `color` with its alpha multiplied by `factor` (0..1).
ImU32 with_alpha(ImU32 color, float factor);
/// `color` mixed towards black (factor < 1) or white (factor > 1).
ImU32 shade(ImU32 color, float factor);

/// The title-bar colour of a node category ("sampling", "loaders", "image/mask"...). Known
/// top-level categories have fixed colours; others get a stable colour from their name.
ImU32 category_color(std::string_view category);

/// Fonts loaded by setup(): the UI font, and a larger canvas font that stays sharp when the
/// canvas is zoomed in (drawn scaled down at 1:1).
struct Fonts {
  ImFont* ui = nullptr;
  ImFont* canvas = nullptr;
  float canvas_oversample = 1.0f;  ///< canvas font size / UI font size
};

/// Sets the style (dark theme, rounding) scaled by `scale` (HiDPI: 2 on a 200 % monitor) and
/// loads the fonts into the current context's atlas: DejaVu Sans when installed, otherwise
/// Dear ImGui's built-in font. Builds the atlas's RGBA pixels; the caller uploads them.
Fonts setup(float scale);

}  // namespace diffgraph::editor::ui::theme
