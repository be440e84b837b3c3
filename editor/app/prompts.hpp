/// @file prompts.hpp
/// Modal windows: "save changes?" before anything would drop unsaved work, the Open / Save As
/// file dialog (a path field and a folder listing of workflows and PNGs; no platform dialog
/// is needed), and restoring backups left by an editor that did not exit cleanly.
#pragma once

#include <filesystem>
#include <optional>

#include "ui_state.hpp"

namespace diffgraph::editor::ui {

enum class PromptResult { Open, Save, Discard, Cancel };

/// Shows the unsaved-changes prompt when state.unsaved_prompt_requested (or already open);
/// returns the answer on the frame it is given, Open while waiting.
PromptResult unsaved_changes_prompt(UiState& state);

/// Opens the file dialog to open a workflow.
void open_open_dialog(UiState& state);
/// Opens the file dialog to save the document under a new name; `then` runs after saving.
void open_save_dialog(UiState& state, PendingAction then);

/// What the file dialog finished with.
struct FileDialogResult {
  bool saved = false;            ///< Save As wrote the document (to `path`)
  std::filesystem::path path;    ///< for Open: the file to open
};
/// Draws the file dialog when open; returns its result on the frame it closes with one.
std::optional<FileDialogResult> file_dialog(UiState& state);

/// Offers the backups in state.restorable (restore into the document, or delete them).
void backup_prompt(UiState& state);

}  // namespace diffgraph::editor::ui
