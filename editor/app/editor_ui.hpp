/// @file editor_ui.hpp
/// The whole editor UI as one function of (Dear ImGui context, editor state): EditorUi::frame()
/// builds every window of one frame from the core's Document and RunSession and turns mouse
/// and keyboard input into core commands. It never touches a platform window or OpenGL, so
/// main.cpp (GLFW + OpenGL3) and the headless tests and benchmark run the very same code.
///
/// Layout: a menu bar, a sidebar (node library, gallery, recent files), the canvas filling the
/// rest, and a status bar. Floating: the search palette, the shortcuts help, file dialogs and
/// prompts (unsaved changes, backup restore).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ui_state.hpp"

namespace diffgraph::editor::ui {

class EditorUi {
 public:
  /// Sets up the style and fonts at `ui_scale` (the caller uploads the font atlas: the GL
  /// backend does it on its first frame; a headless context needs nothing).
  EditorUi(EditorServices services, TextureBackend& textures, float ui_scale = 1.0f);

  /// Builds one frame. Call between ImGui::NewFrame() and ImGui::Render().
  void frame();

  /// Opens a workflow (JSON or a PNG saved by diffgraph) right away, without asking about
  /// unsaved changes (the caller decided). Returns false and shows why on failure.
  bool open_file(const std::filesystem::path& path);
  /// Files dropped on the window: the first workflow or diffgraph PNG is opened (after the
  /// unsaved-changes prompt when needed).
  void drop_files(const std::vector<std::string>& paths);
  /// The window's close button: closes at once when nothing is unsaved, else asks.
  void request_close();
  /// True once the app may exit (closed, or the user answered the prompt).
  bool should_quit() const { return state_.quit; }

  /// Starts running the document (Ctrl+Enter). False when it could not start (see status).
  bool run();
  /// Fits the view to the whole graph on the next frame.
  void fit_view() { state_.view_initialised = false; }
  /// Offers to restore backups left by editors that did not exit cleanly.
  void offer_backups(std::vector<BackupEntry> entries);

  /// A new HiDPI scale the user picked in View > UI scale, once; the platform then calls
  /// set_scale() between frames and re-uploads the font atlas.
  std::optional<float> take_scale_request();
  void set_scale(float ui_scale);
  float scale() const { return state_.ui_scale; }

  /// The window title: "name.json* - diffgraph editor".
  std::string window_title() const;
  /// What the last frame drew where (for screenshots' sidecar and tests).
  const FrameReport& report() const { return state_.report; }
  CanvasView& view() { return state_.view; }
  UiState& state() { return state_; }

 private:
  void menu_bar();
  void shortcuts();
  void canvas();
  void canvas_popups();
  void prompts();
  void sync_view_to_document();
  void file_action(PendingAction action, const std::filesystem::path& path = {});
  void do_action(PendingAction action, const std::filesystem::path& path);
  bool save();
  void copy_selection(bool cut);
  void paste(bool keep_links);

  UiState state_;
};

}  // namespace diffgraph::editor::ui
