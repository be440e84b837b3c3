/// @file node_widgets.hpp
/// The inline widgets of a node's literal inputs, chosen from the input's spec:
/// - INT / FLOAT: a slider when both limits are set and the range is short (denoise 0..1,
///   batch 1..64), otherwise a drag box clamped to the limits and rounded to the step;
///   double-click to type a value;
/// - BOOLEAN: a checkbox;
/// - STRING with options: a combo; with options computed at run time (model files found in
///   the model folders, `options_from`): a picker listing them, with a rescan entry;
/// - multiline STRING (prompts): a text box several rows high; other STRING: a text field.
/// A wired input shows its name only. Every change is one Document::set_literal, merged over
/// one drag or one text-editing session into one undo step.
#pragma once

#include "ui_state.hpp"

namespace diffgraph::editor::ui {

/// Draws and edits the widget rows of `node` (laid out in `layout`). Call inside the canvas
/// window with the node's ID pushed.
void node_widgets(UiState& state, const DocNode& node, const NodeLayout& layout);

/// The label shown for an empty model-picker value.
inline constexpr const char* kDefaultChoiceLabel = "(default)";

}  // namespace diffgraph::editor::ui
