/// @file groups.hpp
/// Groups (titled frames behind nodes: drag the title bar to move the group with what lies
/// inside, drag the corner to resize, double-click the title to rename) and notes (text boxes
/// that never reach the engine: drag the top strip to move, type in the body, drag the corner
/// to resize).
#pragma once

#include "ui_state.hpp"

namespace diffgraph::editor::ui {

/// Draws and submits the groups (call into the back channel, after the nodes were submitted).
void group_items(UiState& state);

/// Draws and submits the notes.
void note_items(UiState& state);

}  // namespace diffgraph::editor::ui
