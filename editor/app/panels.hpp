/// @file panels.hpp
/// The windows around the canvas: the sidebar (node library by category — click to add a node
/// in the middle of the view or drag it onto the canvas —, the gallery of generated pictures,
/// recent files and plugins), the status bar (messages, run progress, zoom), the shortcuts
/// help and the large picture viewer.
#pragma once

#include <imgui.h>

#include "ui_state.hpp"

namespace diffgraph::editor::ui {

/// The sidebar window (position and size set by the caller).
void sidebar(UiState& state, ImGuiWindowFlags flags);
/// The status bar window (position and size set by the caller).
void status_bar(UiState& state);
/// The shortcuts help window (state.show_shortcuts).
void shortcuts_window(UiState& state);
/// A picture from the gallery at full size (state.gallery_zoom).
void gallery_viewer(UiState& state);
/// Reloads the plugins (refused while running) and reports the result in the status bar.
void reload_plugins_action(UiState& state);

}  // namespace diffgraph::editor::ui
