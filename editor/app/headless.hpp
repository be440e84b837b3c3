/// @file headless.hpp
/// A Dear ImGui context with no platform window, for UI tests and benchmarks.
///
/// It builds the font atlas (so text has real sizes), sets a display size and a fixed time
/// step, and feeds input the way Dear ImGui 1.86 expects it from a backend: `io.MousePos`,
/// `io.MouseDown[]`, `io.MouseWheel`, `io.KeysDown[]` indexed by GLFW key codes (what the
/// GLFW backend writes, so the UI's shortcuts are tested as the window app sees them),
/// the modifier flags and queued characters. Each `frame(fn)` runs NewFrame → fn → Render
/// (without a renderer: the draw lists are built and then dropped).
///
/// Input helpers advance frames themselves, because ImGui sees a click only as "up in one
/// frame, down in the next".
#pragma once

#include <functional>
#include <string_view>

#include <imgui.h>

#include "theme.hpp"

namespace diffgraph::editor::ui {

class HeadlessContext {
 public:
  /// A new current context of `width` x `height` pixels, style and fonts at `scale`.
  explicit HeadlessContext(float width = 1280, float height = 800, float scale = 1.0f);
  ~HeadlessContext();
  HeadlessContext(const HeadlessContext&) = delete;
  HeadlessContext& operator=(const HeadlessContext&) = delete;

  ImGuiContext* context() const { return context_; }
  const theme::Fonts& fonts() const { return fonts_; }

  /// Runs one frame: NewFrame, `body`, Render. Clears the one-frame inputs (wheel, typed
  /// characters) afterwards.
  void frame(const std::function<void()>& body);
  /// Runs `count` frames of `body` with no input change.
  void frames(int count, const std::function<void()>& body);

  // --- input: each call runs the frames it needs with `body` as the UI ---------------------
  void set_body(std::function<void()> body) { body_ = std::move(body); }
  /// Moves the mouse to `position` (one frame).
  void move(ImVec2 position);
  /// Presses and releases `button` at `position` (0 = left, 1 = right, 2 = middle).
  void click(ImVec2 position, int button = 0);
  void double_click(ImVec2 position);
  /// Presses at `from`, moves to `to` in `steps` frames, releases there.
  void drag(ImVec2 from, ImVec2 to, int button = 0, int steps = 6);
  /// Presses `button` at `position` and leaves it down (for drags that need a key held, or
  /// checks in the middle of a drag); release() lets go.
  void press(ImVec2 position, int button = 0);
  void release(int button = 0);
  /// Scrolls the wheel at `position` (positive = away from the user = zoom in on the canvas).
  void wheel(ImVec2 position, float notches);
  /// Presses and releases a key (a GLFW key code) with modifiers.
  void key(int glfw_key, bool ctrl = false, bool shift = false, bool alt = false);
  /// Holds or releases a key (a GLFW key code) for the following frames.
  void hold_key(int glfw_key, bool down);
  /// Holds modifier keys for the following input (Shift+click...), until changed.
  void modifiers(bool ctrl, bool shift, bool alt = false);
  /// Types text into whatever has keyboard focus (one frame).
  void type(std::string_view utf8);

  ImVec2 mouse() const { return ImGui::GetIO().MousePos; }

 private:
  void step() { frame(body_); }

  ImGuiContext* context_ = nullptr;
  theme::Fonts fonts_;
  std::function<void()> body_ = [] {};
};

}  // namespace diffgraph::editor::ui
