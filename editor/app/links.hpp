/// @file links.hpp
/// Wires between pins: bezier curves in the type's colour, dragging a new wire out of a pin
/// (incompatible pins dim and say why), dropping it on a pin or a node (first compatible
/// pin), on empty canvas (the search palette opens filtered to compatible nodes and wires
/// the new one), picking up a connected input's wire to move or remove it, and reroute
/// points (double-click a wire to add one; drag to move; Alt+drag to draw a wire out of it).
#pragma once

#include <optional>

#include "ui_state.hpp"

namespace diffgraph::editor::ui {

/// Screen position of a wire's start or end this frame (nullopt when the item is unknown).
std::optional<ImVec2> pin_screen_pos(const UiState& state, const OutputPin& pin);
std::optional<ImVec2> pin_screen_pos(const UiState& state, const InputPin& pin);

/// A node pin: draws it and submits its button (call inside node_view, before the widgets).
/// Pressing it starts a wire drag.
void pin_item(UiState& state, const std::string& node_id, const PinLayout& pin, bool output, ImU32 color);

/// Draws every wire into the current channel; the one under the mouse is highlighted, and a
/// double-click on it inserts a reroute. Call after the canvas's items were submitted, so
/// `nothing_else_hovered` is known.
void draw_wires(UiState& state, bool nothing_else_hovered);

/// Draws and submits the reroute points (before the nodes: they are small and sit on top).
void reroute_items(UiState& state);

/// Draws the wire being dragged and, on release, connects it / opens the palette / removes a
/// picked-up wire. Call last, in the overlay channel.
void wire_drag(UiState& state);

/// The point at parameter t of the wire's bezier from `a` to `b` (screen).
ImVec2 wire_point(ImVec2 a, ImVec2 b, float t, float zoom);

}  // namespace diffgraph::editor::ui
