/// @file palette.hpp
/// The add-node search palette: opened by a double-click on empty canvas, by Tab, or by
/// dropping a wire on empty canvas (then filtered to nodes that take the wire, and the new
/// node is wired in). Type to fuzzy-search (matched letters highlighted), Up/Down to choose,
/// Enter or click to add, Escape or a click outside to close.
#pragma once

#include "ui_state.hpp"

namespace diffgraph::editor::ui {

/// Opens the palette for a new node at `canvas_pos` (no wire).
void open_palette(UiState& state, Vec2 canvas_pos);

/// Draws the palette when open (call every frame, at the canvas window's ID level).
void palette(UiState& state);

}  // namespace diffgraph::editor::ui
