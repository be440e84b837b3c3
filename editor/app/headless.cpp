// A windowless Dear ImGui context driven by synthetic input (headless.hpp).
#include "headless.hpp"

#include <cstdint>
#include <string>

#include "keys.hpp"

namespace diffgraph::editor::ui {

HeadlessContext::HeadlessContext(float width, float height, float scale) {
  context_ = ImGui::CreateContext();
  ImGui::SetCurrentContext(context_);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // tests must not read or write imgui.ini
  io.LogFilename = nullptr;
  io.DisplaySize = {width, height};
  io.DeltaTime = 1.0f / 60.0f;
  // As the OpenGL3 backend declares: draw lists over 64k vertices are split, not refused.
  io.BackendFlags |= ImGuiBackendFlags_RendererHasVtxOffset;
  map_glfw_keys(io);
  fonts_ = theme::setup(scale);
  // No renderer: any non-null id marks the atlas as uploaded.
  io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<std::uintptr_t>(1)));
}

HeadlessContext::~HeadlessContext() { ImGui::DestroyContext(context_); }

void HeadlessContext::frame(const std::function<void()>& body) {
  ImGui::SetCurrentContext(context_);
  ImGui::NewFrame();
  body();
  ImGui::Render();
  ImGuiIO& io = ImGui::GetIO();
  io.MouseWheel = 0;
  io.MouseWheelH = 0;
}

void HeadlessContext::frames(int count, const std::function<void()>& body) {
  for (int i = 0; i < count; ++i) frame(body);
}

void HeadlessContext::move(ImVec2 position) {
  ImGui::GetIO().MousePos = position;
  step();
}

void HeadlessContext::press(ImVec2 position, int button) {
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = position;
  step();  // hover first, as a real mouse would
  io.MouseDown[button] = true;
  step();
}

void HeadlessContext::release(int button) {
  ImGui::GetIO().MouseDown[button] = false;
  step();
}

void HeadlessContext::click(ImVec2 position, int button) {
  press(position, button);
  release(button);
}

void HeadlessContext::double_click(ImVec2 position) {
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = position;
  step();
  for (int i = 0; i < 2; ++i) {
    io.MouseDown[0] = true;
    step();
    io.MouseDown[0] = false;
    step();
  }
}

void HeadlessContext::drag(ImVec2 from, ImVec2 to, int button, int steps) {
  press(from, button);
  ImGuiIO& io = ImGui::GetIO();
  for (int i = 1; i <= steps; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(steps);
    io.MousePos = {from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t};
    step();
  }
  release(button);
}

void HeadlessContext::wheel(ImVec2 position, float notches) {
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = position;
  io.MouseWheel = notches;
  step();
}

void HeadlessContext::hold_key(int glfw_key, bool down) {
  ImGuiIO& io = ImGui::GetIO();
  io.KeysDown[glfw_key] = down;
  if (glfw_key == keys::kLeftControl) io.KeyCtrl = down;
  if (glfw_key == keys::kLeftShift) io.KeyShift = down;
  if (glfw_key == keys::kLeftAlt) io.KeyAlt = down;
  step();
}

void HeadlessContext::key(int glfw_key, bool ctrl, bool shift, bool alt) {
  ImGuiIO& io = ImGui::GetIO();
  io.KeyCtrl = ctrl;
  io.KeyShift = shift;
  io.KeyAlt = alt;
  io.KeysDown[glfw_key] = true;
  step();
  io.KeysDown[glfw_key] = false;
  step();
  io.KeyCtrl = io.KeyShift = io.KeyAlt = false;
}

void HeadlessContext::modifiers(bool ctrl, bool shift, bool alt) {
  ImGuiIO& io = ImGui::GetIO();
  io.KeyCtrl = ctrl;
  io.KeyShift = shift;
  io.KeyAlt = alt;
  io.KeysDown[keys::kLeftControl] = ctrl;
  io.KeysDown[keys::kLeftShift] = shift;
  io.KeysDown[keys::kLeftAlt] = alt;
}

void HeadlessContext::type(std::string_view utf8) {
  ImGuiIO& io = ImGui::GetIO();
  io.AddInputCharactersUTF8(std::string(utf8).c_str());
  step();
}

}  // namespace diffgraph::editor::ui
