/// @file node_view.hpp
/// Nodes on the canvas: layout (from the spec, every frame), the node's look (title coloured
/// by category, pins coloured by type, collapse, bypass, run state, progress, error box,
/// pictures) and its mouse handling (select, shift-select, drag to move, context menu).
/// The inline widgets are in node_widgets.cpp.
///
/// A node is laid out in rows of kRowHeight canvas units under its title bar: first the
/// link-only inputs on the left beside the outputs on the right, then one row per widget
/// input (a prompt takes several), then a square picture area for nodes that show images.
/// Every input has a pin, widget inputs too (a wire replaces the widget's value).
#pragma once

#include <string>

#include "ui_state.hpp"

namespace diffgraph::editor::ui {

/// Lays out every node of the document into state.layouts (also marks which are visible).
void layout_nodes(UiState& state);

/// Lays out one node (canvas units).
NodeLayout layout_node(const UiState& state, const DocNode& node);

/// Draws node `id` into the current draw-list channel and submits its pins, widgets and body
/// as ImGui items. Call for the topmost node first (the first item submitted wins the mouse
/// where nodes overlap).
void node_view(UiState& state, const DocNode& node, const NodeLayout& layout);

/// The title shown on a node: its title override, the spec's display name, or "TYPE (missing)".
std::string node_title(const DocNode& node, const NodeSpec* spec);

/// The colour of a type's pins and wires (from the registry; grey for "*" and unknown types).
ImU32 type_color(const Registry* registry, std::string_view type);

/// The node's title-bar colour: its colour override, or its category's colour.
ImU32 node_color(const DocNode& node, const NodeSpec* spec);

/// Brings a node to the top of the drawing order.
void raise_node(UiState& state, const std::string& id);

/// Selects/moves on a mouse press on an item's body (shared by nodes, notes and groups):
/// click selects it alone, Shift+click toggles it, a drag moves the selection (groups carry
/// their contents). Call right after the item's InvisibleButton.
void item_mouse(UiState& state, const ItemRef& item);

}  // namespace diffgraph::editor::ui
