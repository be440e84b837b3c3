/// @file keys.hpp
/// Keyboard keys as the UI reads them. Dear ImGui 1.86 leaves key codes to the backend: the
/// GLFW backend stores GLFW key codes in `io.KeysDown[]`, so the UI names keys by GLFW code
/// (only GLFW's header constants are used; nothing here opens a window) and the headless
/// context maps its keys the same way.
#pragma once

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <imgui.h>

namespace diffgraph::editor::ui {

namespace keys {
inline constexpr int kTab = GLFW_KEY_TAB;
inline constexpr int kEnter = GLFW_KEY_ENTER;
inline constexpr int kKeypadEnter = GLFW_KEY_KP_ENTER;
inline constexpr int kEscape = GLFW_KEY_ESCAPE;
inline constexpr int kSpace = GLFW_KEY_SPACE;
inline constexpr int kDelete = GLFW_KEY_DELETE;
inline constexpr int kBackspace = GLFW_KEY_BACKSPACE;
inline constexpr int kUp = GLFW_KEY_UP;
inline constexpr int kDown = GLFW_KEY_DOWN;
inline constexpr int kLeft = GLFW_KEY_LEFT;
inline constexpr int kRight = GLFW_KEY_RIGHT;
inline constexpr int kHome = GLFW_KEY_HOME;
inline constexpr int kF1 = GLFW_KEY_F1;
inline constexpr int kF5 = GLFW_KEY_F5;
inline constexpr int kLeftControl = GLFW_KEY_LEFT_CONTROL;
inline constexpr int kLeftShift = GLFW_KEY_LEFT_SHIFT;
inline constexpr int kLeftAlt = GLFW_KEY_LEFT_ALT;
/// Letter keys: GLFW uses the upper-case ASCII code ('A' = 65).
constexpr int letter(char upper) { return static_cast<int>(upper); }
}  // namespace keys

/// Fills io.KeyMap exactly as Dear ImGui 1.86's GLFW backend does, for contexts without it.
void map_glfw_keys(ImGuiIO& io);

/// True on the frame `key` went down (with key repeat, for held arrows and the like).
inline bool key_pressed(int key, bool repeat = false) { return ImGui::IsKeyPressed(key, repeat); }

}  // namespace diffgraph::editor::ui
