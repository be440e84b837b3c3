// editor_screenshot_check SHOT.png: checks a `diffgraph-editor --screenshot` against its
// sidecar SHOT.png.json (what the editor drew where):
//  - the frame is not blank or black: many distinct colours, a spread of brightness;
//  - every node whose title bar is on screen shows its title colour there;
//  - the run finished, and the picture drawn inside the SaveImage node matches the PNG the run
//    wrote (both reduced to a common grid by box averaging, so any display size works), much
//    better than a flat patch of the picture's mean colour would.
// Prints what it measured; exits 1 with the reason on the first failed check.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stb_image.h>

namespace {

struct Image {
  int width = 0, height = 0;
  std::vector<unsigned char> rgb;
  const unsigned char* at(int x, int y) const { return rgb.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
};

Image load(const std::string& path) {
  Image image;
  int channels = 0;
  unsigned char* pixels = stbi_load(path.c_str(), &image.width, &image.height, &channels, 3);
  if (!pixels) {
    std::fprintf(stderr, "FAIL: cannot read %s: %s\n", path.c_str(), stbi_failure_reason());
    std::exit(1);
  }
  image.rgb.assign(pixels, pixels + static_cast<std::size_t>(image.width) * image.height * 3);
  stbi_image_free(pixels);
  return image;
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "FAIL: %s\n", why.c_str());
  std::exit(1);
}

// The mean colour of the pixels in [x0,x1) x [y0,y1).
std::array<double, 3> box_mean(const Image& image, double x0, double y0, double x1, double y1) {
  const int ix0 = std::max(0, static_cast<int>(std::floor(x0))), iy0 = std::max(0, static_cast<int>(std::floor(y0)));
  const int ix1 = std::min(image.width, std::max(ix0 + 1, static_cast<int>(std::ceil(x1))));
  const int iy1 = std::min(image.height, std::max(iy0 + 1, static_cast<int>(std::ceil(y1))));
  std::array<double, 3> sum{0, 0, 0};
  int count = 0;
  for (int y = iy0; y < iy1; ++y)
    for (int x = ix0; x < ix1; ++x, ++count)
      for (int c = 0; c < 3; ++c) sum[c] += image.at(x, y)[c];
  for (double& v : sum) v /= std::max(count, 1);
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: editor_screenshot_check SHOT.png\n");
    return 2;
  }
  const std::string shot_path = argv[1];
  const Image shot = load(shot_path);
  std::ifstream sidecar_file(shot_path + ".json");
  if (!sidecar_file) fail("no sidecar " + shot_path + ".json");
  const nlohmann::json sidecar = nlohmann::json::parse(sidecar_file);
  if (sidecar["width"] != shot.width || sidecar["height"] != shot.height) fail("the sidecar's size differs from the PNG's");

  // --- not blank, not black -------------------------------------------------------------------
  std::set<unsigned> colours;
  double sum = 0, sum_sq = 0;
  std::size_t dark = 0;
  const std::size_t pixels = static_cast<std::size_t>(shot.width) * shot.height;
  for (std::size_t i = 0; i < pixels; ++i) {
    const unsigned char* p = shot.rgb.data() + i * 3;
    colours.insert((unsigned{p[0]} << 16) | (unsigned{p[1]} << 8) | p[2]);
    const double luma = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    sum += luma;
    sum_sq += luma * luma;
    if (p[0] + p[1] + p[2] < 12) ++dark;
  }
  const double mean = sum / pixels, deviation = std::sqrt(std::max(0.0, sum_sq / pixels - mean * mean));
  std::printf("screenshot %dx%d: %zu distinct colours, mean luma %.1f, deviation %.1f, %.1f%% black\n", shot.width,
              shot.height, colours.size(), mean, deviation, 100.0 * dark / pixels);
  if (colours.size() < 500) fail("only " + std::to_string(colours.size()) + " distinct colours: blank frame?");
  if (dark > pixels / 2) fail("more than half the frame is black");
  if (mean < 10 || deviation < 8) fail("the frame is nearly uniform");

  // --- node title bars ------------------------------------------------------------------------
  const auto& nodes = sidecar["nodes"];
  if (nodes.size() < 2) fail("fewer than 2 nodes on screen");
  std::string save_node;
  for (const auto& node : nodes) {
    if (node["type"] == "SaveImage") save_node = node["id"].get<std::string>();
    const auto r = node["title"];
    const int x0 = static_cast<int>(r[0].get<double>()), y0 = static_cast<int>(r[1].get<double>());
    const int x1 = static_cast<int>(r[2].get<double>()), y1 = static_cast<int>(r[3].get<double>());
    if (x0 < 0 || y0 < 0 || x1 > shot.width || y1 > shot.height) continue;  // partly off screen
    int match = 0, total = 0;
    for (int y = y0 + 2; y < y1 - 2; ++y)
      for (int x = x0 + 4; x < x1 - 4; ++x, ++total) {
        const unsigned char* p = shot.at(x, y);
        int d = 0;
        for (int c = 0; c < 3; ++c) d = std::max(d, std::abs(p[c] - node["title_color"][c].get<int>()));
        if (d <= 12) ++match;
      }
    const double fraction = total ? static_cast<double>(match) / total : 0.0;
    std::printf("node %-10s title colour on %.0f%% of its title bar\n", node["id"].get<std::string>().c_str(), 100 * fraction);
    // The title text and a run-state label cover part of the bar; the rest is its colour.
    if (fraction < 0.4) fail("node " + node["id"].get<std::string>() + ": its title colour is not on screen");
  }

  // --- the generated picture inside SaveImage ---------------------------------------------------
  const std::string phase = sidecar["run"]["phase"];
  if (phase != "finished") fail("the run did not finish: " + phase + " " + sidecar["run"]["message"].get<std::string>());
  if (save_node.empty()) fail("no SaveImage node on screen");
  const nlohmann::json* shown = nullptr;
  for (const auto& image : sidecar["images"])
    if (image["node"] == save_node && image["source"] != "preview" && image["source"] != "output") shown = &image;
  if (!shown) fail("the SaveImage node shows no saved picture");
  const std::string file = (*shown)["source"];
  const Image saved = load(file);
  const auto r = (*shown)["rect"];
  const double x0 = r[0], y0 = r[1], x1 = r[2], y1 = r[3];
  // Both reduced to the coarser of the two grids.
  const int gw = std::max(1, std::min(saved.width, static_cast<int>(x1 - x0)));
  const int gh = std::max(1, std::min(saved.height, static_cast<int>(y1 - y0)));
  const auto flat = box_mean(saved, 0, 0, saved.width, saved.height);
  double diff = 0, diff_flat = 0;
  for (int j = 0; j < gh; ++j)
    for (int i = 0; i < gw; ++i) {
      const auto a = box_mean(saved, i * saved.width / double(gw), j * saved.height / double(gh),
                              (i + 1) * saved.width / double(gw), (j + 1) * saved.height / double(gh));
      // The middle of each cell: at the edges a scaled picture blends or rounds to neighbours.
      const double cw = (x1 - x0) / gw, ch = (y1 - y0) / gh;
      const auto b = box_mean(shot, x0 + i * cw + cw * 0.3, y0 + j * ch + ch * 0.3, x0 + (i + 1) * cw - cw * 0.3,
                              y0 + (j + 1) * ch - ch * 0.3);
      for (int c = 0; c < 3; ++c) {
        diff += std::fabs(a[c] - b[c]);
        diff_flat += std::fabs(flat[c] - b[c]);
      }
    }
  diff /= gw * gh * 3.0;
  diff_flat /= gw * gh * 3.0;
  std::printf("picture %s (%dx%d) shown at [%.0f,%.0f,%.0f,%.0f]: mean difference %.2f (a flat patch: %.2f)\n",
              file.c_str(), saved.width, saved.height, x0, y0, x1, y1, diff, diff_flat);
  if (diff > 12.0) fail("the picture in the SaveImage node does not match " + file);
  if (diff * 3 > diff_flat) fail("the SaveImage region is not clearly the picture (too close to a flat patch)");
  std::printf("ok\n");
  return 0;
}
