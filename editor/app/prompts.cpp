// Modal prompts and the file dialog (prompts.hpp).
#include "prompts.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <system_error>

#include <imgui_stdlib.h>

#include "keys.hpp"

namespace diffgraph::editor::ui {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUnsaved = "Unsaved changes";
constexpr const char* kFileDialog = "File";
constexpr const char* kRestore = "Restore unsaved work";

void center_next_window() {
  const ImGuiViewport* viewport = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos({viewport->Pos.x + viewport->Size.x * 0.5f, viewport->Pos.y + viewport->Size.y * 0.5f},
                          ImGuiCond_Appearing, {0.5f, 0.5f});
}

bool is_workflow_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".json" || ext == ".png";
}

}  // namespace

PromptResult unsaved_changes_prompt(UiState& state) {
  if (state.unsaved_prompt_requested) {
    state.unsaved_prompt_requested = false;
    ImGui::OpenPopup(kUnsaved);
  }
  center_next_window();
  PromptResult result = PromptResult::Open;
  if (ImGui::BeginPopupModal(kUnsaved, nullptr, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings)) {
    std::string name = state.core.document.title();
    if (!name.empty() && name.back() == '*') name.pop_back();
    ImGui::Text("Save the changes to %s?", name.c_str());
    ImGui::TextDisabled("Without saving, your changes are lost.");
    ImGui::Spacing();
    const float w = 110.0f * state.ui_scale;
    if (ImGui::Button("Save", {w, 0}) || key_pressed(keys::kEnter)) result = PromptResult::Save;
    ImGui::SameLine();
    if (ImGui::Button("Don't save", {w, 0})) result = PromptResult::Discard;
    ImGui::SameLine();
    if (ImGui::Button("Cancel", {w, 0}) || key_pressed(keys::kEscape)) result = PromptResult::Cancel;
    if (result != PromptResult::Open) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
  }
  return result;
}

void open_open_dialog(UiState& state) {
  FileDialogState& d = state.file_dialog;
  d = {};
  d.open_requested = true;
  d.saving = false;
  const fs::path& current = state.core.document.path();
  std::error_code ec;
  d.directory = (current.empty() ? fs::current_path(ec) : fs::absolute(current, ec).parent_path()).string();
}

void open_save_dialog(UiState& state, PendingAction then) {
  FileDialogState& d = state.file_dialog;
  d = {};
  d.open_requested = true;
  d.saving = true;
  d.then = then;
  std::error_code ec;
  fs::path suggested = state.core.document.suggested_path();
  if (suggested.empty()) suggested = "workflow.json";
  const fs::path absolute = fs::absolute(suggested, ec);
  d.directory = absolute.parent_path().string();
  d.name = absolute.filename().string();
}

std::optional<FileDialogResult> file_dialog(UiState& state) {
  FileDialogState& d = state.file_dialog;
  if (d.open_requested) {
    d.open_requested = false;
    ImGui::OpenPopup(kFileDialog);
  }
  const float s = state.ui_scale;
  center_next_window();
  ImGui::SetNextWindowSize({620 * s, 440 * s}, ImGuiCond_Appearing);
  std::optional<FileDialogResult> result;
  if (!ImGui::BeginPopupModal(kFileDialog, nullptr, ImGuiWindowFlags_NoSavedSettings)) return result;
  ImGui::TextUnformatted(d.saving ? "Save workflow as" : "Open a workflow (.json, or a PNG saved by diffgraph)");
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##dir", &d.directory);

  // The folder's sub-folders and workflows.
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  for (auto it = fs::directory_iterator(d.directory, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const bool dir = it->is_directory(ec);
    if ((dir || is_workflow_name(it->path())) && it->path().filename().string().front() != '.') entries.push_back(*it);
  }
  std::sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
    const bool ad = a.is_directory(ec), bd = b.is_directory(ec);
    return ad != bd ? ad : a.path().filename() < b.path().filename();
  });
  bool accept = false;
  ImGui::BeginChild("##entries", {0, -ImGui::GetFrameHeightWithSpacing() * 2.2f}, true);
  if (ImGui::Selectable("../")) d.directory = fs::path(d.directory).parent_path().string();
  for (const auto& entry : entries) {
    const bool dir = entry.is_directory(ec);
    const std::string name = entry.path().filename().string() + (dir ? "/" : "");
    if (ImGui::Selectable(name.c_str(), !dir && name == d.name, ImGuiSelectableFlags_AllowDoubleClick)) {
      if (dir) {
        d.directory = entry.path().string();
      } else {
        d.name = entry.path().filename().string();
        if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) accept = true;
      }
    }
  }
  ImGui::EndChild();
  ImGui::SetNextItemWidth(-240 * s);
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  if (ImGui::InputText("##name", &d.name, ImGuiInputTextFlags_EnterReturnsTrue)) accept = true;
  ImGui::SameLine();
  if (ImGui::Button(d.saving ? "Save" : "Open", {110 * s, 0})) accept = true;
  ImGui::SameLine();
  const bool cancel = ImGui::Button("Cancel", {110 * s, 0}) || key_pressed(keys::kEscape);
  if (!d.error.empty()) ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(theme::kFailed), "%s", d.error.c_str());

  if (accept && !d.name.empty()) {
    fs::path path = fs::path(d.name).is_absolute() ? fs::path(d.name) : fs::path(d.directory) / d.name;
    if (d.saving) {
      if (path.extension().empty()) path += ".json";
      try {
        state.core.document.save_as(path);
        state.core.recent.add(path);
        if (state.core.backup) state.core.backup->discard(state.core.document);
        state.message("saved " + path.string());
        result = FileDialogResult{true, path};
      } catch (const std::exception& e) {
        d.error = e.what();
      }
    } else if (fs::is_regular_file(path, ec)) {
      result = FileDialogResult{false, path};
    } else {
      d.error = "no such file: " + path.string();
    }
  }
  if (result || cancel) {
    if (cancel) d.then = PendingAction::None;
    ImGui::CloseCurrentPopup();
  }
  ImGui::EndPopup();
  return result;
}

void backup_prompt(UiState& state) {
  if (state.restore_prompt_requested) {
    state.restore_prompt_requested = false;
    ImGui::OpenPopup(kRestore);
  }
  center_next_window();
  if (!ImGui::BeginPopupModal(kRestore, nullptr, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings)) return;
  ImGui::TextUnformatted("An editor closed without saving. Restore its work?");
  ImGui::Spacing();
  bool close = state.restorable.empty();
  for (std::size_t i = 0; i < state.restorable.size() && !close; ++i) {
    const BackupEntry& entry = state.restorable[i];
    ImGui::PushID(static_cast<int>(i));
    const std::time_t when = std::chrono::system_clock::to_time_t(entry.saved_at);
    char time_text[64];
    std::strftime(time_text, sizeof time_text, "%Y-%m-%d %H:%M", std::localtime(&when));
    ImGui::Text("%s  (%s)", entry.document_path.empty() ? "untitled" : entry.document_path.string().c_str(), time_text);
    ImGui::SameLine();
    if (ImGui::SmallButton("Restore")) {
      try {
        AutoBackup::restore(entry, state.core.document);
        AutoBackup::remove(entry);
        state.view_initialised = false;
        state.message("restored unsaved work from " + entry.backup_file.string());
      } catch (const std::exception& e) {
        state.message(e.what(), true);
      }
      close = true;
    }
    ImGui::SameLine();
    if (ImGui::SmallButton("Delete")) {
      AutoBackup::remove(entry);
      state.restorable.erase(state.restorable.begin() + static_cast<std::ptrdiff_t>(i));
      ImGui::PopID();
      break;
    }
    ImGui::PopID();
  }
  ImGui::Spacing();
  if (ImGui::Button("Not now") || key_pressed(keys::kEscape)) close = true;
  if (close || state.restorable.empty()) {
    state.restorable.clear();
    ImGui::CloseCurrentPopup();
  }
  ImGui::EndPopup();
}

}  // namespace diffgraph::editor::ui
