// Inline widgets for literal inputs (node_widgets.hpp).
#include "node_widgets.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <imgui_internal.h>
#include <imgui_stdlib.h>

namespace diffgraph::editor::ui {

namespace {

std::int64_t to_int64(double value) {
  // Limits like 2^64-1 (seeds) do not fit: clamp instead of overflowing.
  if (value >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (value <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(value);
}

double as_double(const Literal& literal, double fallback) {
  if (const auto* d = std::get_if<double>(&literal)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&literal)) return static_cast<double>(*i);
  return fallback;
}

std::int64_t as_int(const Literal& literal, std::int64_t fallback) {
  if (const auto* i = std::get_if<std::int64_t>(&literal)) return *i;
  if (const auto* d = std::get_if<double>(&literal)) return to_int64(*d);
  return fallback;
}

// Runs after each widget: opens a merge step when the widget is grabbed, records the change
// in it, and closes it when the widget is let go (one undo step per drag or edit session).
void commit(UiState& state, const DocNode& node, const InputSpec& input, bool changed, Literal value, bool continuous) {
  Document& doc = state.core.document;
  if (ImGui::IsItemActivated()) state.widget_key = state.new_merge_key();
  if (changed) doc.set_literal(node.id, input.name, std::move(value), continuous ? state.widget_key : 0);
  if (ImGui::IsItemDeactivated()) {
    doc.end_merge();
    state.widget_key = 0;
  }
}

void number_widget(UiState& state, const DocNode& node, const InputSpec& input, const Literal& literal) {
  const bool has_range = input.min && input.max;
  const ImGuiSliderFlags flags = ImGuiSliderFlags_AlwaysClamp;
  if (input.type == "INT") {
    std::int64_t value = as_int(literal, 0);
    const std::int64_t lo = input.min ? to_int64(*input.min) : std::numeric_limits<std::int64_t>::min();
    const std::int64_t hi = input.max ? to_int64(*input.max) : std::numeric_limits<std::int64_t>::max();
    bool changed;
    if (has_range && *input.max - *input.min <= 256) {
      changed = ImGui::SliderScalar("##v", ImGuiDataType_S64, &value, &lo, &hi, "%lld", flags);
    } else {
      const float speed = static_cast<float>(std::max(input.step.value_or(1.0), 1.0)) * 0.25f;
      changed = ImGui::DragScalar("##v", ImGuiDataType_S64, &value, speed, input.min ? &lo : nullptr,
                                  input.max ? &hi : nullptr, "%lld", flags);
    }
    if (changed && input.step && *input.step > 1) {
      // Snap to the step, counted from the minimum (width 64..8192 step 8: multiples of 8).
      const auto step = static_cast<std::int64_t>(*input.step);
      const std::int64_t base = input.min ? lo : 0;
      value = std::clamp(base + (value - base + step / 2) / step * step, lo, hi);
    }
    commit(state, node, input, changed, value, true);
    return;
  }
  double value = as_double(literal, 0.0);
  const double lo = input.min.value_or(-std::numeric_limits<double>::max());
  const double hi = input.max.value_or(std::numeric_limits<double>::max());
  const double step = input.step.value_or(0.0);
  const char* format = step > 0 && step < 0.01 ? "%.3f" : "%.2f";
  bool changed;
  if (has_range && hi - lo <= 2.0) {
    changed = ImGui::SliderScalar("##v", ImGuiDataType_Double, &value, &lo, &hi, format, flags);
  } else {
    const float speed = step > 0 ? static_cast<float>(step) * 0.5f : 0.01f;
    changed = ImGui::DragScalar("##v", ImGuiDataType_Double, &value, speed, input.min ? &lo : nullptr,
                                input.max ? &hi : nullptr, format, flags);
  }
  if (changed && step > 0) value = std::clamp(lo > -1e300 ? lo + std::round((value - lo) / step) * step : std::round(value / step) * step, lo, hi);
  commit(state, node, input, changed, value, true);
}

void choice_widget(UiState& state, const DocNode& node, const NodeSpec& spec, const InputSpec& input, const Literal& literal) {
  const std::string current = std::holds_alternative<std::string>(literal) ? std::get<std::string>(literal) : std::string();
  const std::vector<std::string>& options = state.core.choices.options(spec, input);
  const bool known = current.empty() || std::find(options.begin(), options.end(), current) != options.end();
  std::string preview = current.empty() ? kDefaultChoiceLabel : current;
  if (!known) preview += " (not found)";
  bool changed = false;
  std::string chosen = current;
  if (!known) ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(theme::kFailed));
  const bool open = ImGui::BeginCombo("##v", preview.c_str(), ImGuiComboFlags_HeightLarge);
  if (!known) ImGui::PopStyleColor();
  if (open) {
    // The list is a popup window of its own: draw it in the UI font at 1:1, not the canvas's.
    ImGui::PushFont(state.fonts.ui);
    const bool dynamic = static_cast<bool>(input.dynamic_options);
    if (dynamic && ImGui::Selectable(kDefaultChoiceLabel, current.empty())) {
      chosen.clear();
      changed = true;
    }
    for (const std::string& option : options) {
      if (ImGui::Selectable(option.c_str(), option == current)) {
        chosen = option;
        changed = true;
      }
      if (option == current) ImGui::SetItemDefaultFocus();
    }
    if (dynamic) {
      if (options.empty()) ImGui::TextDisabled("no files found in the model folders");
      const std::string error = state.core.choices.error(spec, input);
      if (!error.empty()) ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(theme::kFailed), "%s", error.c_str());
      ImGui::Separator();
      if (ImGui::Selectable("Rescan model folders", false, ImGuiSelectableFlags_DontClosePopups)) state.core.choices.refresh();
    }
    ImGui::PopFont();
    ImGui::EndCombo();
  }
  commit(state, node, input, changed && chosen != current, chosen, false);
}

}  // namespace

void node_widgets(UiState& state, const DocNode& node, const NodeLayout& layout) {
  Document& doc = state.core.document;
  const CanvasView& view = state.view;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float z = view.zoom;
  const float pad = theme::kPadding * z;
  const float frame_h = ImGui::GetFrameHeight();
  const float font_px = ImGui::GetFontSize();
  if (!layout.spec) return;
  for (const WidgetRow& row : layout.widgets) {
    const InputSpec& input = *row.input;
    ImGui::PushID(input.name.c_str());
    const ImVec2 top_left = view.to_screen({layout.rect.min.x, row.y});
    const float left = top_left.x + pad + 4 * z;
    const float right = top_left.x + layout.rect.width() * z - pad;
    const float row_h = theme::kRowHeight * z;
    const float text_y = top_left.y + (row_h - font_px) * 0.5f;

    if (state.wired_inputs.count({node.id, input.name})) {
      draw->AddText({left + 6 * z, text_y}, theme::kNodeTextDim, input.name.c_str());
      ImGui::PopID();
      continue;
    }
    const Literal literal = doc.input_literal(node.id, input.name);

    if (input.multiline && input.type == "STRING") {
      draw->AddText({left + 6 * z, text_y}, theme::kNodeTextDim, input.name.c_str());
      const ImVec2 box_min{left, top_left.y + row_h};
      const ImVec2 size{right - left, row.height * z - row_h - 2 * z};
      ImGui::SetCursorScreenPos(box_min);
      std::string text = std::holds_alternative<std::string>(literal) ? std::get<std::string>(literal) : std::string();
      state.report.widgets.push_back({node.id, input.name, {box_min, {box_min.x + size.x, box_min.y + size.y}}});
      // Dear ImGui 1.86's text box does not wrap: show the prompt wrapped, and switch to the
      // editor when clicked (it keeps focus until the user clicks elsewhere).
      const ImGuiID editor_id = ImGui::GetID("##v");
      const bool editing = ImGui::GetActiveID() == editor_id || state.focus_text == editor_id;
      if (editing) {
        if (state.focus_text == editor_id) {
          ImGui::SetKeyboardFocusHere();
          if (--state.focus_text_frames <= 0) state.focus_text = 0;
        }
        const bool changed = ImGui::InputTextMultiline("##v", &text, size, ImGuiInputTextFlags_NoHorizontalScroll);
        commit(state, node, input, changed, text, true);
      } else {
        const ImVec2 box_max{box_min.x + size.x, box_min.y + size.y};
        draw->AddRectFilled(box_min, box_max, ImGui::GetColorU32(ImGuiCol_FrameBg), ImGui::GetStyle().FrameRounding);
        const ImVec2 padding = ImGui::GetStyle().FramePadding;
        const ImVec4 clip{box_min.x, box_min.y, box_max.x, box_max.y};
        draw->AddText(nullptr, 0.0f, {box_min.x + padding.x, box_min.y + padding.y}, theme::kNodeText, text.c_str(),
                      nullptr, size.x - 2 * padding.x, &clip);
        ImGui::SetCursorScreenPos(box_min);
        if (ImGui::InvisibleButton("##view", size)) {
          state.focus_text = editor_id;
          state.focus_text_frames = 2;
        }
        if (ImGui::IsItemHovered()) ImGui::SetMouseCursor(ImGuiMouseCursor_TextInput);
      }
      ImGui::PopID();
      continue;
    }

    // One line: the name on the left, the editor on the right 60 %.
    const float label_w = (right - left) * 0.4f;
    const ImVec4 label_clip{left, top_left.y, left + label_w - 4 * z, top_left.y + row_h};
    draw->AddText(nullptr, 0.0f, {left + 6 * z, text_y}, theme::kNodeTextDim, input.name.c_str(), nullptr, 0.0f, &label_clip);
    const ImVec2 widget_min{left + label_w, top_left.y + (row_h - frame_h) * 0.5f};
    ImGui::SetCursorScreenPos(widget_min);
    ImGui::SetNextItemWidth(right - widget_min.x);
    state.report.widgets.push_back({node.id, input.name, {widget_min, {right, widget_min.y + frame_h}}});

    const bool has_choices = !input.options.empty() || static_cast<bool>(input.dynamic_options);
    if (has_choices) {
      choice_widget(state, node, *layout.spec, input, literal);
    } else if (input.type == "INT" || input.type == "FLOAT") {
      number_widget(state, node, input, literal);
    } else if (input.type == "BOOLEAN") {
      bool value = std::holds_alternative<bool>(literal) && std::get<bool>(literal);
      const bool changed = ImGui::Checkbox("##v", &value);
      commit(state, node, input, changed, value, false);
    } else if (input.type == "STRING") {
      std::string text = std::holds_alternative<std::string>(literal) ? std::get<std::string>(literal) : std::string();
      const bool changed = ImGui::InputText("##v", &text);
      commit(state, node, input, changed, text, true);
    } else {
      // A widget of a plugin type the editor has no editor for: show the literal.
      ImGui::TextDisabled("%s", literal_to_string(literal).c_str());
    }
    if (hovered_for(0.6f) && !input.description.empty() && !ImGui::IsItemActive()) {
      ImGui::PushFont(state.fonts.ui);
      ImGui::SetTooltip("%s (%s)\n%s", input.name.c_str(), input.type.c_str(), input.description.c_str());
      ImGui::PopFont();
    }
    ImGui::PopID();
  }
}

}  // namespace diffgraph::editor::ui
