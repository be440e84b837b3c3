// Shared UI state helpers (ui_state.hpp).
#include "ui_state.hpp"

#include <imgui_internal.h>

namespace diffgraph::editor::ui {

void UiState::message(std::string text, bool error) {
  status_message = std::move(text);
  status_is_error = error;
  status_time = ImGui::GetCurrentContext() ? ImGui::GetTime() : 0.0;
}

Vec2 UiState::node_size(const DocNode& node) const {
  auto it = layouts.find(node.id);
  if (it != layouts.end()) return {it->second.rect.width(), it->second.rect.height()};
  return estimated_node_size(node, core.document.spec(node.id));
}

std::string pin_key(const std::string& item, const std::string& name, bool output) {
  return item + (output ? "\x1fout\x1f" : "\x1fin\x1f") + name;
}

bool hovered_for(float seconds) { return ImGui::IsItemHovered() && GImGui->HoveredIdTimer >= seconds; }

}  // namespace diffgraph::editor::ui
