// Colours, fonts and the scaled style (theme.hpp).
#include "theme.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>

namespace diffgraph::editor::ui::theme {

ImU32 with_alpha(ImU32 color, float factor) {
  const auto alpha = static_cast<float>((color >> IM_COL32_A_SHIFT) & 0xFF) * std::clamp(factor, 0.0f, 1.0f);
  return (color & ~IM_COL32_A_MASK) | (static_cast<ImU32>(alpha + 0.5f) << IM_COL32_A_SHIFT);
}

ImU32 shade(ImU32 color, float factor) {
  auto channel = [&](int shift) {
    const float c = static_cast<float>((color >> shift) & 0xFF);
    const float v = factor <= 1.0f ? c * factor : c + (255.0f - c) * (factor - 1.0f);
    return static_cast<ImU32>(std::clamp(v, 0.0f, 255.0f) + 0.5f) << shift;
  };
  return channel(IM_COL32_R_SHIFT) | channel(IM_COL32_G_SHIFT) | channel(IM_COL32_B_SHIFT) | (color & IM_COL32_A_MASK);
}

ImU32 category_color(std::string_view category) {
  const std::string_view top = category.substr(0, category.find('/'));
  struct Known {
    std::string_view name;
    ImU32 color;
  };
  // Muted hues: saturated title bars tire the eye on a dark canvas.
  static constexpr std::array kKnown{
      Known{"loaders", IM_COL32(52, 110, 92, 255)},    Known{"conditioning", IM_COL32(150, 118, 52, 255)},
      Known{"sampling", IM_COL32(120, 70, 150, 255)},  Known{"latent", IM_COL32(160, 72, 100, 255)},
      Known{"image", IM_COL32(55, 100, 160, 255)},     Known{"mask", IM_COL32(60, 125, 135, 255)},
      Known{"math", IM_COL32(95, 105, 120, 255)},      Known{"utils", IM_COL32(90, 96, 108, 255)},
      Known{"text", IM_COL32(140, 100, 70, 255)},      Known{"advanced", IM_COL32(110, 75, 75, 255)},
  };
  for (const Known& known : kKnown)
    if (known.name == top) return known.color;
  // Unknown category (a plugin's own): a stable hue from its name, same saturation and value.
  std::uint32_t hash = 2166136261u;
  for (char c : top) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  float r, g, b;
  ImGui::ColorConvertHSVtoRGB(static_cast<float>(hash % 360) / 360.0f, 0.5f, 0.55f, r, g, b);
  return IM_COL32(static_cast<int>(r * 255), static_cast<int>(g * 255), static_cast<int>(b * 255), 255);
}

namespace {

void apply_style(float scale) {
  ImGuiStyle style;  // fresh defaults, so calling setup() again with a new scale does not compound
  ImGui::StyleColorsDark(&style);
  style.WindowRounding = 6.0f;
  style.ChildRounding = 4.0f;
  style.FrameRounding = 4.0f;
  style.PopupRounding = 4.0f;
  style.GrabRounding = 3.0f;
  style.ScrollbarRounding = 6.0f;
  style.TabRounding = 4.0f;
  style.WindowBorderSize = 1.0f;
  style.FramePadding = {6.0f, 3.0f};
  style.ItemSpacing = {8.0f, 5.0f};
  style.WindowPadding = {10.0f, 8.0f};
  ImVec4* c = style.Colors;
  c[ImGuiCol_WindowBg] = ImVec4(0.13f, 0.14f, 0.16f, 0.97f);
  c[ImGuiCol_PopupBg] = ImVec4(0.12f, 0.13f, 0.15f, 0.98f);
  c[ImGuiCol_MenuBarBg] = ImVec4(0.10f, 0.11f, 0.12f, 1.0f);
  c[ImGuiCol_TitleBg] = ImVec4(0.10f, 0.11f, 0.12f, 1.0f);
  c[ImGuiCol_TitleBgActive] = ImVec4(0.15f, 0.16f, 0.19f, 1.0f);
  c[ImGuiCol_FrameBg] = ImVec4(0.20f, 0.21f, 0.24f, 1.0f);
  c[ImGuiCol_FrameBgHovered] = ImVec4(0.26f, 0.28f, 0.32f, 1.0f);
  c[ImGuiCol_FrameBgActive] = ImVec4(0.30f, 0.32f, 0.37f, 1.0f);
  c[ImGuiCol_Header] = ImVec4(0.24f, 0.27f, 0.33f, 1.0f);
  c[ImGuiCol_HeaderHovered] = ImVec4(0.30f, 0.34f, 0.42f, 1.0f);
  c[ImGuiCol_HeaderActive] = ImVec4(0.34f, 0.39f, 0.48f, 1.0f);
  c[ImGuiCol_Button] = ImVec4(0.24f, 0.26f, 0.30f, 1.0f);
  c[ImGuiCol_ButtonHovered] = ImVec4(0.31f, 0.34f, 0.40f, 1.0f);
  c[ImGuiCol_ButtonActive] = ImVec4(0.36f, 0.40f, 0.48f, 1.0f);
  c[ImGuiCol_SliderGrab] = ImVec4(1.0f, 0.69f, 0.18f, 0.85f);
  c[ImGuiCol_SliderGrabActive] = ImVec4(1.0f, 0.75f, 0.30f, 1.0f);
  c[ImGuiCol_CheckMark] = ImVec4(1.0f, 0.69f, 0.18f, 1.0f);
  c[ImGuiCol_PlotHistogram] = ImVec4(0.35f, 0.78f, 0.47f, 1.0f);
  c[ImGuiCol_NavHighlight] = ImVec4(1.0f, 0.69f, 0.18f, 1.0f);
  style.ScaleAllSizes(scale);
  ImGui::GetStyle() = style;
}

std::filesystem::path find_font() {
  // Debian's fonts-dejavu-core; an absent font is not an error (the built-in one is used).
  for (const char* candidate : {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                                "/usr/share/fonts/TTF/DejaVuSans.ttf"})
    if (std::filesystem::exists(candidate)) return candidate;
  return {};
}

}  // namespace

Fonts setup(float scale) {
  apply_style(scale);
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  Fonts fonts;
  const std::filesystem::path font_file = find_font();
  const float ui_size = 15.0f * scale;
  // The canvas font is rasterised at twice the UI size: zooming in to 2x stays sharp, and at
  // 1:1 it is drawn at half size (ImGui's bilinear filtering keeps it crisp enough).
  fonts.canvas_oversample = 2.0f;
  if (!font_file.empty()) {
    ImFontConfig config;
    config.OversampleH = 2;
    config.OversampleV = 1;
    fonts.ui = io.Fonts->AddFontFromFileTTF(font_file.c_str(), ui_size, &config);
    fonts.canvas = io.Fonts->AddFontFromFileTTF(font_file.c_str(), ui_size * fonts.canvas_oversample, &config);
  }
  if (!fonts.ui || !fonts.canvas) {
    io.Fonts->Clear();
    ImFontConfig config;
    config.SizePixels = 13.0f * scale;
    fonts.ui = io.Fonts->AddFontDefault(&config);
    config.SizePixels = 13.0f * scale * 2.0f;
    fonts.canvas = io.Fonts->AddFontDefault(&config);
  }
  io.FontDefault = fonts.ui;
  unsigned char* pixels = nullptr;
  int width = 0, height = 0;
  io.Fonts->GetTexDataAsRGBA32(&pixels, &width, &height);
  return fonts;
}

}  // namespace diffgraph::editor::ui::theme
