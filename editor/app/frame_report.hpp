/// @file frame_report.hpp
/// What the last frame put where on screen: node rectangles with their title colours and the
/// rectangles where images were drawn. Written next to a `--screenshot` as a JSON sidecar so
/// the window test can find the graph and the generated picture in the pixels, and used by
/// the headless tests to aim the mouse at pins and widgets without duplicating layout math.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "canvas.hpp"

namespace diffgraph::editor::ui {

struct FrameReport {
  struct Node {
    std::string id;
    std::string type;
    Box rect;          ///< the whole node, screen pixels
    Box title;         ///< its title bar
    ImU32 title_color = 0;
  };
  struct Pin {
    std::string node;
    std::string name;
    bool output = false;
    ImVec2 center;      ///< screen pixels
  };
  struct Widget {
    std::string node;
    std::string input;
    Box rect;          ///< the editing widget's frame
  };
  struct Image {
    std::string node;
    std::string source;  ///< the image file shown, or "preview" for a live sampler preview
    Box rect;           ///< where it was drawn (aspect preserved), screen pixels
  };
  std::vector<Node> nodes;
  std::vector<Pin> pins;
  std::vector<Widget> widgets;
  std::vector<Image> images;

  void clear() { *this = {}; }
  const Node* node(const std::string& id) const;
  const Pin* pin(const std::string& node, const std::string& name, bool output) const;
  const Widget* widget(const std::string& node, const std::string& input) const;

  /// As JSON; rectangles are [x0, y0, x1, y1] multiplied by `pixel_scale` (framebuffer pixels
  /// per UI unit, for HiDPI screenshots).
  nlohmann::json to_json(float pixel_scale = 1.0f) const;
};

/// Writes RGBA8 pixels (rows top to bottom) as a PNG. Throws std::runtime_error naming the
/// file when it cannot be written.
void write_png(const std::filesystem::path& path, int width, int height, const std::vector<unsigned char>& rgba);

}  // namespace diffgraph::editor::ui
