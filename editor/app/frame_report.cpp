// The frame report and PNG writing (frame_report.hpp).
#include "frame_report.hpp"

#include <stdexcept>

#include <stb_image_write.h>

namespace diffgraph::editor::ui {

const FrameReport::Node* FrameReport::node(const std::string& id) const {
  for (const Node& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

const FrameReport::Pin* FrameReport::pin(const std::string& node_id, const std::string& name, bool output) const {
  for (const Pin& p : pins)
    if (p.node == node_id && p.name == name && p.output == output) return &p;
  return nullptr;
}

const FrameReport::Widget* FrameReport::widget(const std::string& node_id, const std::string& input) const {
  for (const Widget& w : widgets)
    if (w.node == node_id && w.input == input) return &w;
  return nullptr;
}

nlohmann::json FrameReport::to_json(float pixel_scale) const {
  auto rect = [&](const Box& r) {
    return nlohmann::json::array({r.min.x * pixel_scale, r.min.y * pixel_scale, r.max.x * pixel_scale, r.max.y * pixel_scale});
  };
  auto rgb = [](ImU32 c) {
    return nlohmann::json::array({(c >> IM_COL32_R_SHIFT) & 0xFF, (c >> IM_COL32_G_SHIFT) & 0xFF, (c >> IM_COL32_B_SHIFT) & 0xFF});
  };
  nlohmann::json out = {{"nodes", nlohmann::json::array()}, {"images", nlohmann::json::array()}};
  for (const Node& n : nodes)
    out["nodes"].push_back({{"id", n.id}, {"type", n.type}, {"rect", rect(n.rect)}, {"title", rect(n.title)},
                            {"title_color", rgb(n.title_color)}});
  for (const Image& i : images) out["images"].push_back({{"node", i.node}, {"source", i.source}, {"rect", rect(i.rect)}});
  return out;
}

void write_png(const std::filesystem::path& path, int width, int height, const std::vector<unsigned char>& rgba) {
  if (rgba.size() != static_cast<std::size_t>(width) * height * 4)
    throw std::runtime_error("screenshot " + path.string() + ": pixel buffer does not match " + std::to_string(width) +
                             "x" + std::to_string(height));
  if (!stbi_write_png(path.c_str(), width, height, 4, rgba.data(), width * 4))
    throw std::runtime_error("cannot write " + path.string());
}

}  // namespace diffgraph::editor::ui
