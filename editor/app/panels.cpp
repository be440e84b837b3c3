// Sidebar, status bar, help and picture viewer (panels.hpp).
#include "panels.hpp"

#include <algorithm>
#include <cstdio>

#include <imgui_stdlib.h>

#include "node_view.hpp"
#include "shortcuts.hpp"

namespace diffgraph::editor::ui {

namespace {

void library_tab(UiState& state) {
  std::string& filter = state.library_filter;
  ImGui::SetNextItemWidth(-1);
  ImGui::InputTextWithHint("##filter", "filter nodes...", &filter);
  ImGui::BeginChild("##library");
  Document& doc = state.core.document;
  const auto categories = nodes_by_category(*state.core.plugins.registry());
  for (const auto& [category, specs] : categories) {
    // Categories starting with '_' hold helper nodes for tests; the search still finds them.
    if (category.starts_with('_') && filter.empty()) continue;
    std::vector<const NodeSpec*> shown;
    for (const NodeSpec* spec : specs)
      if (filter.empty() || fuzzy_score(filter, display_name(*spec)) || fuzzy_score(filter, spec->type)) shown.push_back(spec);
    if (shown.empty()) continue;
    // Category header in its title colour.
    ImGui::PushStyleColor(ImGuiCol_Header, ImGui::ColorConvertU32ToFloat4(theme::with_alpha(theme::category_color(category), 0.55f)));
    const bool open = ImGui::CollapsingHeader(category.c_str(), filter.empty() ? 0 : ImGuiTreeNodeFlags_DefaultOpen);
    ImGui::PopStyleColor();
    if (!open) continue;
    ImGui::Indent(6 * state.ui_scale);
    for (const NodeSpec* spec : shown) {
      const std::string name = display_name(*spec);
      if (ImGui::Selectable(name.c_str())) {
        // Added in the middle of the view, a little offset each time so repeated clicks fan out.
        const ImVec2 c = state.view.to_canvas(state.canvas_screen.center());
        const float shift = static_cast<float>(doc.nodes().size() % 6) * 24.0f;
        const std::string id = doc.add_node(spec->type, {c.x - theme::kNodeWidth * 0.5f + shift, c.y - 60 + shift});
        doc.select(ItemRef::node(id));
        raise_node(state, id);
      }
      if (ImGui::BeginDragDropSource()) {
        ImGui::SetDragDropPayload("DIFFGRAPH_NODE_TYPE", spec->type.data(), spec->type.size());
        ImGui::Text("%s", name.c_str());
        ImGui::EndDragDropSource();
      }
      if (hovered_for(0.5f) && !spec->description.empty()) ImGui::SetTooltip("%s\n%s", spec->type.c_str(), spec->description.c_str());
    }
    ImGui::Unindent(6 * state.ui_scale);
  }
  ImGui::EndChild();
}

void gallery_tab(UiState& state) {
  const std::vector<GalleryImage> gallery = state.core.session.gallery();
  if (gallery.empty()) {
    ImGui::TextDisabled("Pictures made by runs appear here.");
    return;
  }
  if (ImGui::SmallButton("Clear")) state.core.session.clear_gallery();
  ImGui::BeginChild("##gallery");
  const float avail = ImGui::GetContentRegionAvail().x;
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  const float cell = (avail - spacing) * 0.5f;
  int column = 0;
  for (const GalleryImage& image : gallery) {
    if (!image.picture || image.picture->image.width <= 0) continue;
    const PreviewImage& pixels = image.picture->image;
    const Texture texture = state.textures.get("gallery:" + std::to_string(image.picture->version), image.picture->version,
                                               pixels.width, pixels.height, pixels.rgba.data());
    const float aspect = static_cast<float>(pixels.height) / static_cast<float>(pixels.width);
    ImGui::PushID(static_cast<int>(image.picture->version));
    if (column == 1) ImGui::SameLine();
    if (ImGui::ImageButton(texture.id, {cell - 4, (cell - 4) * aspect}, {0, 0}, {1, 1}, 2)) state.gallery_zoom = image.picture->version;
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("node %s, run %llu%s%s", image.node_id.c_str(), static_cast<unsigned long long>(image.run),
                        image.file.empty() ? "" : "\n", image.file.c_str());
    ImGui::PopID();
    column = 1 - column;
  }
  ImGui::EndChild();
}

void files_tab(UiState& state) {
  ImGui::TextDisabled("Recent files");
  const auto entries = state.core.recent.entries();
  if (entries.empty()) ImGui::TextDisabled("  (none yet)");
  for (const auto& path : entries) {
    if (ImGui::Selectable(path.filename().string().c_str())) {
      if (state.core.document.dirty()) {
        state.pending = PendingAction::OpenPath;
        state.pending_path = path;
        state.unsaved_prompt_requested = true;
      } else {
        try {
          state.core.document.open(path);
          state.core.recent.add(path);
          state.core.session.clear_states();
          state.view_initialised = false;
        } catch (const std::exception& e) {
          state.message(e.what(), true);
        }
      }
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", path.string().c_str());
  }
  ImGui::Separator();
  ImGui::TextDisabled("Plugins");
  for (const PluginInfo& plugin : state.core.plugins.plugins()) {
    if (plugin.loaded) {
      ImGui::Text("%s %s", plugin.name.c_str(), plugin.version.c_str());
      ImGui::SameLine();
      ImGui::TextDisabled("%zu nodes", plugin.node_types.size());
    } else {
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(theme::kFailed), "%s: not loaded", plugin.path.filename().string().c_str());
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", plugin.error.c_str());
    }
  }
  if (ImGui::Button("Reload plugins")) reload_plugins_action(state);
}

}  // namespace

void sidebar(UiState& state, ImGuiWindowFlags flags) {
  ImGui::Begin("##sidebar", nullptr, flags);
  if (ImGui::BeginTabBar("##tabs")) {
    if (ImGui::BeginTabItem("Nodes")) {
      library_tab(state);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Gallery")) {
      gallery_tab(state);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Files")) {
      files_tab(state);
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
  ImGui::End();
}

void status_bar(UiState& state) {
  ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, 0.0f);
  ImGui::Begin("##status", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                   ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoFocusOnAppearing);
  ImGui::PopStyleVar();
  // The run: what runs now, or how the last run ended.
  const RunReport report = state.core.session.last_report();
  const ImVec4 ok = ImGui::ColorConvertU32ToFloat4(theme::kRunning);
  const ImVec4 bad = ImGui::ColorConvertU32ToFloat4(theme::kFailed);
  switch (report.phase) {
    case RunPhase::Running: {
      std::string running;
      for (const auto& [id, status] : state.statuses)
        if (status.state == NodeRunState::Running) {
          running = id;
          if (status.total > 0) running += " " + std::to_string(status.step) + "/" + std::to_string(status.total);
        }
      ImGui::TextColored(ok, "running %s", running.c_str());
      break;
    }
    case RunPhase::Finished:
      ImGui::TextColored(ok, "finished in %.2f s (%zu run, %zu cached)", report.seconds, report.stats.executed.size(), report.stats.cached.size());
      break;
    case RunPhase::Failed: ImGui::TextColored(bad, "failed: %s", report.message.c_str()); break;
    case RunPhase::Cancelled: ImGui::TextColored(bad, "cancelled"); break;
    case RunPhase::Invalid: ImGui::TextColored(bad, "not run: %zu problem(s)", report.diagnostics.size()); break;
    case RunPhase::Idle: ImGui::TextDisabled("Ctrl+Enter runs the graph"); break;
  }
  // The last message, for a while.
  if (!state.status_message.empty() && ImGui::GetTime() - state.status_time < 10.0) {
    ImGui::SameLine(0, 30 * state.ui_scale);
    if (state.status_is_error) ImGui::TextColored(bad, "%s", state.status_message.c_str());
    else ImGui::TextDisabled("%s", state.status_message.c_str());
  }
  char right[96];
  std::snprintf(right, sizeof right, "%zu nodes   %d %%", state.core.document.nodes().size(),
                static_cast<int>(state.view.user_zoom() * 100.0f + 0.5f));
  ImGui::SameLine(ImGui::GetWindowWidth() - ImGui::CalcTextSize(right).x - 16 * state.ui_scale);
  ImGui::TextDisabled("%s", right);
  ImGui::End();
}

void shortcuts_window(UiState& state) {
  ImGui::SetNextWindowSize({560 * state.ui_scale, 0}, ImGuiCond_Appearing);
  const ImGuiViewport* viewport = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos({viewport->Pos.x + viewport->Size.x * 0.5f, viewport->Pos.y + viewport->Size.y * 0.5f},
                          ImGuiCond_Appearing, {0.5f, 0.5f});
  if (!ImGui::Begin("Shortcuts", &state.show_shortcuts, ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoCollapse)) {
    ImGui::End();
    return;
  }
  if (ImGui::BeginTable("##shortcuts", 2, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV)) {
    ImGui::TableSetupColumn("keys", ImGuiTableColumnFlags_WidthFixed, 210 * state.ui_scale);
    ImGui::TableSetupColumn("action");
    for (const Shortcut& shortcut : kShortcuts) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(theme::kSelection), "%s", shortcut.keys);
      ImGui::TableNextColumn();
      ImGui::TextWrapped("%s", shortcut.action);
    }
    ImGui::EndTable();
  }
  ImGui::End();
}

void gallery_viewer(UiState& state) {
  if (!state.gallery_zoom) return;
  const std::uint64_t version = *state.gallery_zoom;
  const Texture* texture = state.textures.find("gallery:" + std::to_string(version));
  if (!texture) {
    state.gallery_zoom.reset();
    return;
  }
  bool open = true;
  ImGui::SetNextWindowSize({std::min(static_cast<float>(texture->width) * 4.0f, 900.0f) * state.ui_scale, 0}, ImGuiCond_Appearing);
  if (ImGui::Begin("Picture", &open, ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoCollapse)) {
    const float w = ImGui::GetContentRegionAvail().x;
    ImGui::Image(texture->id, {w, w * static_cast<float>(texture->height) / static_cast<float>(texture->width)});
  }
  ImGui::End();
  if (!open) state.gallery_zoom.reset();
}

void reload_plugins_action(UiState& state) {
  const PluginReload result = reload_plugins(state.core.plugins, state.core.session, state.core.document);
  state.core.choices.refresh();
  state.search.reset();
  std::string text = result.message;
  if (!result.missing_nodes.empty()) text += " (" + std::to_string(result.missing_nodes.size()) + " node(s) of a missing type)";
  state.message(text, !result.reloaded);
}

}  // namespace diffgraph::editor::ui
