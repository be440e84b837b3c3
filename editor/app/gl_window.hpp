/// @file gl_window.hpp
/// The platform layer of `diffgraph-editor`: a GLFW window with an OpenGL 3.3 core context,
/// Dear ImGui's GLFW and OpenGL3 backends (from Debian's libimgui.a), textures for images,
/// framebuffer read-back for screenshots, and files dropped on the window.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "textures.hpp"

struct GLFWwindow;

namespace diffgraph::editor::ui {

/// No window could be opened: no X11/Wayland display, or no usable OpenGL 3.3.
class NoDisplay : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// RGBA8 pixels read back from the framebuffer, rows top to bottom.
struct Pixels {
  int width = 0, height = 0;
  std::vector<unsigned char> rgba;
};

class GlWindow {
 public:
  /// Opens the window and sets up Dear ImGui's backends on the current ImGui context.
  /// Throws NoDisplay with GLFW's reason when there is no display.
  GlWindow(int width, int height, const std::string& title);
  ~GlWindow();
  GlWindow(const GlWindow&) = delete;
  GlWindow& operator=(const GlWindow&) = delete;

  /// True once the user asked to close the window (title-bar button, Alt+F4...).
  bool close_requested() const;
  /// Forgets a close request (the UI asks about unsaved changes first).
  void cancel_close();
  void set_title(const std::string& title);

  /// Polls events and starts the backends' frame; call ImGui::NewFrame() after it.
  void begin_frame();
  /// Renders ImGui's draw data over a cleared framebuffer; presents it unless `present` is
  /// false (a screenshot frame is read back first, then presented with present()).
  void end_frame(bool present = true);
  void present();
  /// The back buffer just rendered (before present()).
  Pixels read_pixels() const;
  /// Framebuffer pixels per window coordinate (2 on a HiDPI screen with scaling).
  float framebuffer_scale() const;
  /// The monitor's content scale (the desktop's HiDPI setting), 1 when unknown.
  float content_scale() const;
  /// Re-uploads the font atlas after the fonts were rebuilt (scale change).
  void reload_fonts();
  /// Paths dropped on the window since the last call.
  std::vector<std::string> take_dropped_files();
  /// Sleeps until an event arrives or `seconds` pass (idle UI does not spin the CPU).
  void wait_events(double seconds);

  TextureBackend& textures() { return *textures_; }
  GLFWwindow* handle() const { return window_; }

 private:
  GLFWwindow* window_ = nullptr;
  std::unique_ptr<TextureBackend> textures_;
  std::vector<std::string> dropped_;
};

}  // namespace diffgraph::editor::ui
