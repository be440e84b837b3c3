// The image, mask and latent-utility nodes of the `diffusion` plugin, run as small graphs
// through the executor exactly as a front end runs them: the plugin is loaded from its file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <diffgraph/executor.hpp>
#include <diffgraph/graph.hpp>
#include <diffgraph/plugin_loader.hpp>
#include <diffgraph/registry.hpp>
#include <diffgraph/tensor_values.hpp>

#include "sampling/noise.hpp"

#include "models/safetensors.hpp"
#include "models/tensor_io.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>

using namespace diffgraph;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A fresh folder per test, removed afterwards.
class ScratchFolder {
 public:
  ScratchFolder() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("diffgraph_image_nodes_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// {"node": id, "output": name}: a link in diffgraph/1 JSON.
json output_of(const std::string& node, const std::string& output) { return {{"node", node}, {"output", output}}; }

Graph graph_of(const json& nodes) { return parse_graph(json{{"format", "diffgraph/1"}, {"nodes", nodes}}.dump()); }

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The tEXt chunks of a PNG, read independently of libpng: keyword → text.
std::map<std::string, std::string> png_text_chunks(const fs::path& path) {
  const auto bytes = read_bytes(path);
  std::map<std::string, std::string> texts;
  std::size_t pos = 8;  // after the signature
  while (pos + 12 <= bytes.size()) {
    const std::uint32_t length = (std::uint32_t{bytes[pos]} << 24) | (bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) |
                                 bytes[pos + 3];
    const std::string type(bytes.begin() + pos + 4, bytes.begin() + pos + 8);
    if (pos + 12 + length > bytes.size()) break;
    if (type == "tEXt") {
      const std::string body(bytes.begin() + pos + 8, bytes.begin() + pos + 8 + length);
      const auto zero = body.find('\0');
      texts[body.substr(0, zero)] = body.substr(zero + 1);
    }
    pos += 12 + length;
  }
  return texts;
}

class ImageNodesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new Registry();
    const auto infos = load_plugins(*registry_, {DIFFUSION_PLUGIN_FILE});
    ASSERT_EQ(infos.size(), 1u);
    ASSERT_TRUE(infos[0].loaded) << infos[0].error;
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }

  void SetUp() override {
    options.environment.output_dir = scratch.path() / "output";
    options.environment.settings["input_dir"] = (scratch.path() / "input").string();
    options.environment.settings["temp_dir"] = (scratch.path() / "temp").string();
    fs::create_directories(scratch.path() / "input");
  }

  // Runs the graph for `targets` (all output nodes when empty) with a fresh cache.
  RunResult run(const json& nodes, std::vector<std::string> targets = {}) {
    Executor executor(*registry_);
    RunOptions run_options = options;
    run_options.targets = std::move(targets);
    return executor.run(graph_of(nodes), run_options);
  }

  // The one output `output` of node `node` (run as the only target).
  template <class T>
  std::shared_ptr<const T> output(const json& nodes, const std::string& node, const std::string& output) {
    RunResult result = run(nodes, {node});
    auto value = value_cast<T>(result.outputs.at(node).at(output));
    EXPECT_TRUE(value) << node << "." << output << " has another type";
    return value;
  }

  // The ExecutionError a run raises (fails the test when it succeeds).
  ExecutionError failure(const json& nodes, std::vector<std::string> targets = {}) {
    try {
      run(nodes, std::move(targets));
    } catch (const ExecutionError& e) {
      return e;
    }
    ADD_FAILURE() << "the run did not fail";
    return ExecutionError("", "", "");
  }

  // Writes an 8-bit RGBA (or RGB) PNG through stb_image_write.
  fs::path write_test_png(const std::string& name, int width, int height, int channels,
                          const std::vector<std::uint8_t>& pixels) {
    const fs::path path = scratch.path() / "input" / name;
    EXPECT_TRUE(stbi_write_png(path.c_str(), width, height, channels, pixels.data(), width * channels));
    return path;
  }

  static Registry* registry_;
  ScratchFolder scratch;
  RunOptions options;
};

Registry* ImageNodesTest::registry_ = nullptr;

// A 5x4 RGBA picture with distinct values everywhere.
std::vector<std::uint8_t> sample_rgba(int width, int height) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width * height * 4));
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return pixels;
}

torch::Tensor bytes_to_tensor(const std::vector<std::uint8_t>& pixels, int width, int height, int channels) {
  return torch::tensor(std::vector<float>(pixels.begin(), pixels.end())).view({1, height, width, channels}) / 255.0f;
}

// A GIF with a 4-colour palette (red, green, blue, white), one frame per entry of `frames`
// (palette indices, row-major). The LZW stream sends a clear code before every two pixels, so
// the code size stays at 3 bits and no compression is needed.
std::vector<std::uint8_t> tiny_gif(int width, int height, const std::vector<std::vector<std::uint8_t>>& frames) {
  std::vector<std::uint8_t> out = {'G', 'I', 'F', '8', '9', 'a'};
  auto u16 = [&](int v) {
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
  };
  u16(width);
  u16(height);
  out.insert(out.end(), {0xF1, 0, 0});  // global palette of 4 entries
  out.insert(out.end(), {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255});
  for (const auto& frame : frames) {
    out.push_back(0x2C);
    u16(0);
    u16(0);
    u16(width);
    u16(height);
    out.push_back(0);
    out.push_back(2);  // LZW minimum code size
    std::vector<std::uint8_t> data;
    std::uint32_t bits = 0;
    int count = 0;
    auto emit = [&](int code) {
      bits |= static_cast<std::uint32_t>(code) << count;
      count += 3;
      while (count >= 8) {
        data.push_back(static_cast<std::uint8_t>(bits & 0xFF));
        bits >>= 8;
        count -= 8;
      }
    };
    for (std::size_t i = 0; i < frame.size(); ++i) {
      if (i % 2 == 0) emit(4);  // clear
      emit(frame[i]);
    }
    emit(5);  // end of information
    if (count > 0) data.push_back(static_cast<std::uint8_t>(bits & 0xFF));
    out.push_back(static_cast<std::uint8_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    out.push_back(0);
  }
  out.push_back(0x3B);
  return out;
}

}  // namespace

TEST_F(ImageNodesTest, RegistersEveryImageMaskAndLatentNode) {
  for (const char* type : {"LoadImage", "LoadImageMask", "SaveImage", "PreviewImage", "ImageScale", "ImageInvert",
                           "ImageToMask", "MaskToImage", "InvertMask", "GrowMask", "FeatherMask", "ThresholdMask",
                           "SolidMask", "MaskComposite", "EmptyLatentImage", "LatentUpscale", "SaveLatent",
                           "LoadLatent", "SetLatentNoiseMask", "RandomNoise", "ShapesImage"})
    EXPECT_NE(registry_->find_node(type), nullptr) << type;
  const NodeSpec* load = registry_->find_node("LoadImage");
  ASSERT_EQ(load->outputs.size(), 2u);
  EXPECT_EQ(load->outputs[0].name, "IMAGE");
  EXPECT_EQ(load->outputs[1].name, "MASK");
  EXPECT_TRUE(registry_->find_node("SaveImage")->output_node);
  EXPECT_TRUE(registry_->find_node("SaveImage")->outputs.empty());
}

TEST_F(ImageNodesTest, LoadImageDecodesPixelsAndMaskIsOneMinusAlpha) {
  const auto pixels = sample_rgba(5, 4);
  write_test_png("rgba.png", 5, 4, 4, pixels);
  const json nodes = {{"load", {{"type", "LoadImage"}, {"inputs", {{"image", "rgba.png"}}}}}};  // via input_dir
  RunResult result = run(nodes, {"load"});
  const auto image = value_cast<ImageValue>(result.outputs.at("load").at("IMAGE"))->pixels();
  const auto mask = value_cast<MaskValue>(result.outputs.at("load").at("MASK"))->mask();
  const auto expected = bytes_to_tensor(pixels, 5, 4, 4);
  ASSERT_EQ(image.sizes(), (std::vector<std::int64_t>{1, 4, 5, 3}));
  ASSERT_EQ(mask.sizes(), (std::vector<std::int64_t>{1, 4, 5}));
  EXPECT_TRUE(torch::allclose(image, expected.slice(3, 0, 3), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(mask, 1.0f - expected.select(3, 3), 0, 1e-6));

  // An editor offers the pictures of the input folder.
  const auto choices = registry_->find_node("LoadImage")->inputs[0].dynamic_options(options.environment);
  EXPECT_EQ(choices, (std::vector<std::string>{"rgba.png"}));
}

TEST_F(ImageNodesTest, LoadImageWithoutAlphaGivesAZeroMaskOf64x64) {
  std::vector<std::uint8_t> rgb(6 * 2 * 3, 200);
  const auto path = write_test_png("rgb.png", 6, 2, 3, rgb);
  const json nodes = {{"load", {{"type", "LoadImage"}, {"inputs", {{"image", path.string()}}}}}};
  RunResult result = run(nodes, {"load"});
  const auto mask = value_cast<MaskValue>(result.outputs.at("load").at("MASK"))->mask();
  EXPECT_EQ(mask.sizes(), (std::vector<std::int64_t>{1, 64, 64}));
  EXPECT_EQ(mask.abs().sum().item<float>(), 0.0f);
}

TEST_F(ImageNodesTest, SaveImageNumbersFilesAndNeverOverwrites) {
  // A file already holding number 1: it must survive, and numbering continues after it.
  const fs::path output = scratch.path() / "output";
  fs::create_directories(output);
  write_bytes(output / "diffgraph_00001_.png", {'k', 'e', 'e', 'p'});
  const json nodes = {{"solid", {{"type", "SolidMask"}, {"inputs", {{"value", 0.25}, {"width", 8}, {"height", 6}}}}},
                      {"img", {{"type", "MaskToImage"}, {"inputs", {{"mask", output_of("solid", "MASK")}}}}},
                      {"save", {{"type", "SaveImage"}, {"inputs", {{"images", output_of("img", "IMAGE")}}}}}};
  RunResult first = run(nodes);
  RunResult second = run(nodes);  // a fresh executor: nothing cached, the node runs again
  ASSERT_EQ(first.results.at("save").size(), 1u);
  ASSERT_EQ(second.results.at("save").size(), 1u);
  EXPECT_EQ(fs::path(first.results.at("save")[0].at("image").get<std::string>()), output / "diffgraph_00002_.png");
  EXPECT_EQ(fs::path(second.results.at("save")[0].at("image").get<std::string>()), output / "diffgraph_00003_.png");
  EXPECT_EQ(read_bytes(output / "diffgraph_00001_.png"), (std::vector<std::uint8_t>{'k', 'e', 'e', 'p'}));
  // No temporary files are left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(output)) ++files;
  EXPECT_EQ(files, 3u);
}

TEST_F(ImageNodesTest, GifFramesLoadAsABatchAndSaveAsNumberedFiles) {
  // Frame 1 is red/green over blue/white, frame 2 the reverse order.
  const std::vector<std::vector<std::uint8_t>> frames{{0, 1, 2, 3}, {3, 2, 1, 0}};
  write_bytes(scratch.path() / "input" / "two.gif", tiny_gif(2, 2, frames));
  const json nodes = {{"load", {{"type", "LoadImage"}, {"inputs", {{"image", "two.gif"}}}}},
                      {"save",
                       {{"type", "SaveImage"},
                        {"inputs", {{"images", output_of("load", "IMAGE")}, {"filename_prefix", "sub/dir/cat"}}}}}};
  RunResult result = run(nodes, {"load", "save"});
  const auto image = value_cast<ImageValue>(result.outputs.at("load").at("IMAGE"))->pixels();
  ASSERT_EQ(image.sizes(), (std::vector<std::int64_t>{2, 2, 2, 3}));
  const auto palette = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f}).view({4, 3});
  for (int f = 0; f < 2; ++f)
    for (int i = 0; i < 4; ++i)
      EXPECT_TRUE(torch::equal(image[f][i / 2][i % 2], palette[frames[f][i]])) << "frame " << f << " pixel " << i;

  const auto& saved = result.results.at("save");
  ASSERT_EQ(saved.size(), 2u);
  const fs::path folder = scratch.path() / "output" / "sub" / "dir";
  EXPECT_EQ(fs::path(saved[0].at("image").get<std::string>()), folder / "cat_00001_.png");
  EXPECT_EQ(fs::path(saved[1].at("image").get<std::string>()), folder / "cat_00002_.png");
  const auto second = output<ImageValue>(
      {{"l", {{"type", "LoadImage"}, {"inputs", {{"image", (folder / "cat_00002_.png").string()}}}}}}, "l", "IMAGE");
  EXPECT_TRUE(torch::equal(second->pixels()[0], image[1]));
}

TEST_F(ImageNodesTest, SaveImageRefusesAPrefixLeavingTheOutputFolder) {
  const json nodes = {{"solid", {{"type", "SolidMask"}, {"inputs", {{"width", 4}, {"height", 4}}}}},
                      {"img", {{"type", "MaskToImage"}, {"inputs", {{"mask", output_of("solid", "MASK")}}}}},
                      {"save",
                       {{"type", "SaveImage"},
                        {"inputs", {{"images", output_of("img", "IMAGE")}, {"filename_prefix", "../evil"}}}}}};
  ExecutionError error = failure(nodes);
  EXPECT_EQ(error.node_type(), "SaveImage");
  EXPECT_NE(error.reason().find("filename_prefix"), std::string::npos) << error.reason();
  EXPECT_FALSE(fs::exists(scratch.path() / "evil_00001_.png"));
}

TEST_F(ImageNodesTest, SavedPngCarriesTheWorkflowAndLoadsBackIdentically) {
  const auto pixels = sample_rgba(5, 4);
  write_test_png("rgba.png", 5, 4, 4, pixels);
  json nodes = {{"load", {{"type", "LoadImage"}, {"inputs", {{"image", "rgba.png"}}}}},
                {"save", {{"type", "SaveImage"}, {"inputs", {{"images", output_of("load", "IMAGE")}}}}}};
  nodes["load"]["editor"] = {{"title", "Café ✓"}};  // non-ASCII text in the workflow
  RunResult result = run(nodes);
  const fs::path saved = result.results.at("save")[0].at("image").get<std::string>();

  const auto texts = png_text_chunks(saved);
  ASSERT_EQ(texts.count("workflow"), 1u);
  const std::string& workflow = texts.at("workflow");
  for (unsigned char c : workflow) ASSERT_LT(c, 0x80) << "tEXt must be Latin-1: the workflow is escaped to ASCII";
  const json parsed = json::parse(workflow);
  EXPECT_EQ(parsed.at("format"), "diffgraph/1");
  EXPECT_EQ(parsed.at("nodes").at("save").at("type"), "SaveImage");
  EXPECT_EQ(parsed.at("nodes").at("load").at("editor").at("title"), "Café ✓");

  // Reading the saved file back gives exactly the 8-bit RGB values written.
  const json reload = {{"load", {{"type", "LoadImage"}, {"inputs", {{"image", saved.string()}}}}}};
  const auto image = output<ImageValue>(reload, "load", "IMAGE")->pixels();
  EXPECT_TRUE(torch::equal(image, bytes_to_tensor(pixels, 5, 4, 4).slice(3, 0, 3)));
}

TEST_F(ImageNodesTest, SavingQuantisesToTheNearest8BitValue) {
  // Bilinear scaling makes values between 8-bit steps; they are saved rounded.
  const auto pixels = sample_rgba(5, 4);
  write_test_png("rgba.png", 5, 4, 4, pixels);
  const json nodes = {{"load", {{"type", "LoadImage"}, {"inputs", {{"image", "rgba.png"}}}}},
                      {"scale", {{"type", "ImageScale"},
                                 {"inputs", {{"image", output_of("load", "IMAGE")}, {"upscale_method", "bilinear"},
                                             {"width", 7}, {"height", 3}}}}},
                      {"save", {{"type", "SaveImage"}, {"inputs", {{"images", output_of("scale", "IMAGE")}}}}}};
  RunResult result = run(nodes, {"scale", "save"});
  const auto scaled = value_cast<ImageValue>(result.outputs.at("scale").at("IMAGE"))->pixels();
  const std::string saved = result.results.at("save")[0].at("image");
  const auto loaded = output<ImageValue>({{"load", {{"type", "LoadImage"}, {"inputs", {{"image", saved}}}}}}, "load", "IMAGE");
  EXPECT_TRUE(torch::allclose(loaded->pixels(), (scaled * 255).round() / 255, 0, 1e-6));
}

TEST_F(ImageNodesTest, CorruptOrMissingImageIsAnErrorNamingNodeAndFile) {
  const fs::path corrupt = scratch.path() / "input" / "broken.png";
  write_bytes(corrupt, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 1, 2, 3});
  ExecutionError error = failure({{"img", {{"type", "LoadImage"}, {"inputs", {{"image", corrupt.string()}}}}}}, {"img"});
  EXPECT_EQ(error.node_id(), "img");
  EXPECT_EQ(error.node_type(), "LoadImage");
  EXPECT_NE(error.reason().find(corrupt.string()), std::string::npos) << error.reason();
  EXPECT_NE(std::string(error.what()).find("LoadImage"), std::string::npos);

  ExecutionError missing = failure({{"img", {{"type", "LoadImage"}, {"inputs", {{"image", "nowhere.png"}}}}}}, {"img"});
  EXPECT_EQ(missing.node_type(), "LoadImage");
  EXPECT_NE(missing.reason().find("nowhere.png"), std::string::npos) << missing.reason();

  ExecutionError mask = failure({{"m", {{"type", "LoadImageMask"}, {"inputs", {{"image", corrupt.string()}}}}}}, {"m"});
  EXPECT_NE(mask.reason().find("broken.png"), std::string::npos) << mask.reason();
}

TEST_F(ImageNodesTest, ChangedImageFileIsReadAgain) {
  std::vector<std::uint8_t> dark(4 * 4 * 3, 10), light(4 * 4 * 3, 240);
  write_test_png("changing.png", 4, 4, 3, dark);
  Executor executor(*registry_);
  RunOptions run_options = options;
  run_options.targets = {"load"};
  const Graph graph = graph_of({{"load", {{"type", "LoadImage"}, {"inputs", {{"image", "changing.png"}}}}}});
  auto value_of = [](const RunResult& r) {
    return value_cast<ImageValue>(r.outputs.at("load").at("IMAGE"))->pixels().mean().item<float>();
  };
  EXPECT_NEAR(value_of(executor.run(graph, run_options)), 10 / 255.0f, 1e-6);
  RunResult same = executor.run(graph, run_options);
  EXPECT_EQ(same.stats.cached, (std::vector<std::string>{"load"}));
  write_test_png("changing.png", 4, 4, 3, light);
  RunResult changed = executor.run(graph, run_options);
  EXPECT_EQ(changed.stats.executed, (std::vector<std::string>{"load"}));
  EXPECT_NEAR(value_of(changed), 240 / 255.0f, 1e-6);
}

TEST_F(ImageNodesTest, JpegExifOrientationIsApplied) {
  // 16 wide, 8 tall: top half white, bottom half black.
  std::vector<std::uint8_t> rgb(16 * 8 * 3, 0);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 16 * 3; ++x) rgb[y * 16 * 3 + x] = 255;
  const fs::path plain = scratch.path() / "input" / "plain.jpg";
  ASSERT_TRUE(stbi_write_jpg(plain.c_str(), 16, 8, 3, rgb.data(), 95));
  auto bytes = read_bytes(plain);
  // An APP1 Exif segment (big-endian TIFF) with Orientation = 6: rotate 90° clockwise to view.
  const std::vector<std::uint8_t> app1 = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0x00, 0x2A,
                                          0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00,
                                          0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  bytes.insert(bytes.begin() + 2, app1.begin(), app1.end());
  write_bytes(scratch.path() / "input" / "rotated.jpg", bytes);

  const auto image =
      output<ImageValue>({{"load", {{"type", "LoadImage"}, {"inputs", {{"image", "rotated.jpg"}}}}}}, "load", "IMAGE")
          ->pixels();
  ASSERT_EQ(image.sizes(), (std::vector<std::int64_t>{1, 16, 8, 3}));
  // Turned clockwise, the white top half is now the right half.
  EXPECT_GT(image.slice(2, 5, 8).mean().item<float>(), 0.9f);
  EXPECT_LT(image.slice(2, 0, 3).mean().item<float>(), 0.1f);
}

TEST_F(ImageNodesTest, LoadImageMaskTakesOneChannel) {
  const auto pixels = sample_rgba(5, 4);
  write_test_png("rgba.png", 5, 4, 4, pixels);
  const auto expected = bytes_to_tensor(pixels, 5, 4, 4)[0];
  auto channel = [&](const char* name) {
    return output<MaskValue>({{"m", {{"type", "LoadImageMask"}, {"inputs", {{"image", "rgba.png"}, {"channel", name}}}}}},
                             "m", "MASK")
        ->mask();
  };
  EXPECT_TRUE(torch::allclose(channel("green"), expected.select(2, 1).unsqueeze(0), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(channel("alpha"), 1.0f - expected.select(2, 3).unsqueeze(0), 0, 1e-6));
}

TEST_F(ImageNodesTest, PreviewImageWritesToTheTempFolderNotTheOutputFolder) {
  const json nodes = {{"solid", {{"type", "SolidMask"}, {"inputs", {{"width", 4}, {"height", 4}}}}},
                      {"img", {{"type", "MaskToImage"}, {"inputs", {{"mask", output_of("solid", "MASK")}}}}},
                      {"show", {{"type", "PreviewImage"}, {"inputs", {{"images", output_of("img", "IMAGE")}}}}}};
  RunResult result = run(nodes);
  ASSERT_EQ(result.results.at("show").size(), 1u);
  const fs::path file = result.results.at("show")[0].at("image").get<std::string>();
  EXPECT_EQ(result.results.at("show")[0].at("type"), "temp");
  EXPECT_EQ(file.parent_path(), scratch.path() / "temp");
  EXPECT_TRUE(fs::exists(file));
  EXPECT_FALSE(fs::exists(scratch.path() / "output"));
}

TEST_F(ImageNodesTest, ImageScaleSizesAndMethods) {
  write_test_png("rgba.png", 8, 6, 4, sample_rgba(8, 6));
  auto scaled = [&](json inputs) {
    inputs["image"] = output_of("load", "IMAGE");
    return output<ImageValue>({{"load", {{"type", "LoadImage"}, {"inputs", {{"image", "rgba.png"}}}}},
                               {"scale", {{"type", "ImageScale"}, {"inputs", inputs}}}},
                              "scale", "IMAGE")
        ->pixels();
  };
  for (const char* method : {"nearest-exact", "bilinear", "area", "bicubic", "lanczos"}) {
    const auto image = scaled({{"upscale_method", method}, {"width", 13}, {"height", 5}});
    EXPECT_EQ(image.sizes(), (std::vector<std::int64_t>{1, 5, 13, 3})) << method;
    EXPECT_GE(image.min().item<float>(), 0.0f) << method;
    EXPECT_LE(image.max().item<float>(), 1.0f) << method;
  }
  // 0 follows the other side, keeping the aspect ratio (8x6 → 16x12).
  EXPECT_EQ(scaled({{"width", 16}, {"height", 0}}).sizes(), (std::vector<std::int64_t>{1, 12, 16, 3}));
  // A centre crop to a square keeps the middle 6 columns: nearest-exact at the same size copies them.
  const auto original = scaled({{"width", 8}, {"height", 6}});
  const auto cropped = scaled({{"width", 6}, {"height", 6}, {"crop", "center"}, {"upscale_method", "nearest-exact"}});
  EXPECT_TRUE(torch::equal(cropped, original.slice(2, 1, 7)));
}

TEST_F(ImageNodesTest, LanczosFiltersWhenShrinking) {
  // Alternating black and white columns: halving the width must average them to grey (the kernel
  // widens with the shrink factor); a flat area stays flat when enlarging.
  std::vector<std::uint8_t> stripes(24 * 4 * 3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 24; ++x)
      for (int c = 0; c < 3; ++c) stripes[(y * 24 + x) * 3 + c] = x % 2 ? 255 : 0;
  write_test_png("stripes.png", 24, 4, 3, stripes);
  std::vector<std::uint8_t> grey(12 * 12 * 3, 128);
  write_test_png("grey.png", 12, 12, 3, grey);
  auto lanczos = [&](const char* file, int width, int height) {
    return output<ImageValue>({{"load", {{"type", "LoadImage"}, {"inputs", {{"image", file}}}}},
                               {"scale", {{"type", "ImageScale"},
                                          {"inputs", {{"image", output_of("load", "IMAGE")}, {"upscale_method", "lanczos"},
                                                      {"width", width}, {"height", height}}}}}},
                              "scale", "IMAGE")
        ->pixels();
  };
  const auto halved = lanczos("stripes.png", 12, 4);
  ASSERT_EQ(halved.sizes(), (std::vector<std::int64_t>{1, 4, 12, 3}));
  EXPECT_TRUE(torch::allclose(halved.slice(2, 3, 9), torch::full({1, 4, 6, 3}, 0.5f), 0, 1e-5)) << halved[0][0];
  const auto enlarged = lanczos("grey.png", 29, 17);
  EXPECT_TRUE(torch::allclose(enlarged, torch::full_like(enlarged, 128 / 255.0f), 0, 1e-5));
}

TEST_F(ImageNodesTest, InvertAndChannelConversions) {
  const auto pixels = sample_rgba(5, 4);
  write_test_png("rgba.png", 5, 4, 4, pixels);
  const auto rgb = bytes_to_tensor(pixels, 5, 4, 4).slice(3, 0, 3);
  const json base = {{"load", {{"type", "LoadImage"}, {"inputs", {{"image", "rgba.png"}}}}}};
  json nodes = base;
  nodes["inv"] = {{"type", "ImageInvert"}, {"inputs", {{"image", output_of("load", "IMAGE")}}}};
  nodes["blue"] = {{"type", "ImageToMask"}, {"inputs", {{"image", output_of("load", "IMAGE")}, {"channel", "blue"}}}};
  nodes["invm"] = {{"type", "InvertMask"}, {"inputs", {{"mask", output_of("blue", "MASK")}}}};
  nodes["back"] = {{"type", "MaskToImage"}, {"inputs", {{"mask", output_of("invm", "MASK")}}}};
  RunResult result = run(nodes, {"inv", "blue", "back"});
  EXPECT_TRUE(torch::allclose(value_cast<ImageValue>(result.outputs.at("inv").at("IMAGE"))->pixels(), 1.0f - rgb, 0, 1e-6));
  const auto blue = value_cast<MaskValue>(result.outputs.at("blue").at("MASK"))->mask();
  EXPECT_TRUE(torch::allclose(blue, rgb.select(3, 2), 0, 1e-6));
  const auto back = value_cast<ImageValue>(result.outputs.at("back").at("IMAGE"))->pixels();
  ASSERT_EQ(back.sizes(), (std::vector<std::int64_t>{1, 4, 5, 3}));
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(torch::allclose(back.select(3, c), 1.0f - blue, 0, 1e-6));

  json alpha = base;
  alpha["a"] = {{"type", "ImageToMask"}, {"inputs", {{"image", output_of("load", "IMAGE")}, {"channel", "alpha"}}}};
  ExecutionError error = failure(alpha, {"a"});
  EXPECT_EQ(error.node_type(), "ImageToMask");
  EXPECT_NE(error.reason().find("alpha"), std::string::npos);
}

// Masks built from a 5x5 picture whose red channel is given.
class MaskOpsTest : public ImageNodesTest {
 protected:
  void write_mask_png(const std::string& name, const std::vector<std::uint8_t>& red, int width, int height) {
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(width * height * 3), 0);
    for (int i = 0; i < width * height; ++i) rgb[i * 3] = red[i];
    write_test_png(name, width, height, 3, rgb);
  }
  json mask_from(const std::string& name) {
    return {{"type", "LoadImageMask"}, {"inputs", {{"image", name}, {"channel", "red"}}}};
  }
  torch::Tensor run_mask(json nodes, const std::string& node) { return output<MaskValue>(nodes, node, "MASK")->mask(); }
};

TEST_F(MaskOpsTest, GrowMaskByOneMakesAPlusOrASquareAndShrinkUndoesIt) {
  std::vector<std::uint8_t> dot(25, 0);
  dot[2 * 5 + 2] = 255;
  write_mask_png("dot.png", dot, 5, 5);
  auto grow = [&](int expand, bool tapered, const std::string& source = "dot.png") {
    return run_mask({{"m", mask_from(source)},
                     {"g", {{"type", "GrowMask"},
                            {"inputs", {{"mask", output_of("m", "MASK")}, {"expand", expand}, {"tapered_corners", tapered}}}}}},
                    "g")[0];
  };
  const auto plus = grow(1, true);
  const auto expected_plus = torch::tensor({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},
                                           torch::kFloat).view({5, 5});
  EXPECT_TRUE(torch::equal(plus, expected_plus)) << plus;
  const auto square = grow(1, false);
  EXPECT_TRUE(torch::equal(square, torch::zeros({5, 5}).index_put_({torch::indexing::Slice(1, 4), torch::indexing::Slice(1, 4)}, 1.0f)))
      << square;
  EXPECT_EQ(grow(2, true).sum().item<float>(), 13.0f);  // a diamond of radius 2
  EXPECT_EQ(grow(100, false).sum().item<float>(), 25.0f);

  // Eroding a 3x3 block by one leaves its centre; at the border the edge repeats.
  std::vector<std::uint8_t> block(25, 0);
  for (int y = 1; y < 4; ++y)
    for (int x = 1; x < 4; ++x) block[y * 5 + x] = 255;
  write_mask_png("block.png", block, 5, 5);
  EXPECT_TRUE(torch::equal(grow(-1, false, "block.png"), torch::tensor(std::vector<float>(dot.begin(), dot.end())).view({5, 5}) / 255.0f));
  std::vector<std::uint8_t> full(25, 255);
  write_mask_png("full.png", full, 5, 5);
  EXPECT_EQ(grow(-2, true, "full.png").sum().item<float>(), 25.0f);
}

TEST_F(MaskOpsTest, ThresholdMask) {
  write_mask_png("ramp.png", {0, 100, 127, 128, 255}, 5, 1);
  const auto mask = run_mask({{"m", mask_from("ramp.png")},
                              {"t", {{"type", "ThresholdMask"}, {"inputs", {{"mask", output_of("m", "MASK")}, {"value", 0.5}}}}}},
                             "t");
  EXPECT_TRUE(torch::equal(mask, torch::tensor({0.0f, 0.0f, 0.0f, 1.0f, 1.0f}).view({1, 1, 5})));
}

TEST_F(MaskOpsTest, FeatherMaskRampsEachEdge) {
  const auto mask = run_mask({{"s", {{"type", "SolidMask"}, {"inputs", {{"value", 1.0}, {"width", 6}, {"height", 3}}}}},
                              {"f", {{"type", "FeatherMask"},
                                     {"inputs", {{"mask", output_of("s", "MASK")}, {"left", 2}, {"right", 3}, {"top", 1}}}}}},
                             "f")[0];
  const auto row = torch::tensor({0.5f, 1.0f, 1.0f, 1.0f, 2.0f / 3.0f, 1.0f / 3.0f});
  EXPECT_TRUE(torch::allclose(mask[1], row, 0, 1e-6)) << mask;
  EXPECT_TRUE(torch::allclose(mask[0], row, 0, 1e-6));  // top = 1: the first row's factor is 1/1
}

TEST_F(MaskOpsTest, SolidMaskAndMaskCompositeClipAtTheEdge) {
  auto composite = [&](const std::string& operation, double source_value) {
    return run_mask({{"d", {{"type", "SolidMask"}, {"inputs", {{"value", 0.5}, {"width", 4}, {"height", 4}}}}},
                     {"s", {{"type", "SolidMask"}, {"inputs", {{"value", source_value}, {"width", 2}, {"height", 2}}}}},
                     {"c", {{"type", "MaskComposite"},
                            {"inputs", {{"destination", output_of("d", "MASK")}, {"source", output_of("s", "MASK")},
                                        {"x", 3}, {"y", 1}, {"operation", operation}}}}}},
                    "c")[0];
  };
  auto expected = [](float inside) {
    auto t = torch::full({4, 4}, 0.5f);
    t.index_put_({torch::indexing::Slice(1, 3), 3}, inside);  // only column 3 of the source is visible
    return t;
  };
  EXPECT_TRUE(torch::allclose(composite("add", 1.0), expected(1.0f)));  // 1.5 clamped
  EXPECT_TRUE(torch::allclose(composite("multiply", 0.5), expected(0.25f)));
  EXPECT_TRUE(torch::allclose(composite("subtract", 0.25), expected(0.25f)));
  EXPECT_TRUE(torch::allclose(composite("xor", 1.0), expected(1.0f)));  // 0.5 rounds to off
  EXPECT_TRUE(torch::allclose(composite("and", 1.0), expected(0.0f)));
  const auto solid = run_mask({{"s", {{"type", "SolidMask"}, {"inputs", {{"value", 0.3}, {"width", 7}, {"height", 2}}}}}}, "s");
  EXPECT_EQ(solid.sizes(), (std::vector<std::int64_t>{1, 2, 7}));
  EXPECT_NEAR(solid.mean().item<float>(), 0.3f, 1e-6);
}

TEST_F(ImageNodesTest, EmptyLatentImageShapeAndWidthNotAMultipleOf8) {
  const auto latent = output<LatentValue>(
      {{"e", {{"type", "EmptyLatentImage"}, {"inputs", {{"width", 64}, {"height", 48}, {"batch_size", 3}}}}}}, "e", "LATENT");
  EXPECT_EQ(latent->samples().sizes(), (std::vector<std::int64_t>{3, 4, 6, 8}));
  EXPECT_EQ(latent->samples().abs().sum().item<float>(), 0.0f);

  ExecutionError error = failure({{"e", {{"type", "EmptyLatentImage"}, {"inputs", {{"width", 100}}}}}}, {"e"});
  EXPECT_EQ(error.node_type(), "EmptyLatentImage");
  EXPECT_NE(error.reason().find("width"), std::string::npos) << error.reason();
  EXPECT_NE(error.reason().find("100"), std::string::npos) << error.reason();
}

TEST_F(ImageNodesTest, LatentUpscaleSizesKeepTheNoiseMask) {
  const json base = {
      {"e", {{"type", "EmptyLatentImage"}, {"inputs", {{"width", 128}, {"height", 64}}}}},
      {"m", {{"type", "SolidMask"}, {"inputs", {{"width", 16}, {"height", 8}}}}},
      {"n", {{"type", "SetLatentNoiseMask"}, {"inputs", {{"samples", output_of("e", "LATENT")}, {"mask", output_of("m", "MASK")}}}}}};
  for (const char* method : {"nearest-exact", "bilinear", "area", "bicubic", "bislerp"}) {
    json nodes = base;
    nodes["u"] = {{"type", "LatentUpscale"},
                  {"inputs", {{"samples", output_of("n", "LATENT")}, {"upscale_method", method}, {"width", 256}, {"height", 0}}}};
    const auto latent = output<LatentValue>(nodes, "u", "LATENT");
    EXPECT_EQ(latent->samples().sizes(), (std::vector<std::int64_t>{1, 4, 16, 32})) << method;
    ASSERT_TRUE(latent->noise_mask().has_value()) << method;
    EXPECT_EQ(latent->noise_mask()->sizes(), (std::vector<std::int64_t>{1, 8, 16}));
  }
}

TEST_F(ImageNodesTest, BislerpKeepsConstantVectorsAndInterpolatesLengths) {
  // A latent with one constant vector everywhere stays that vector, whatever the size.
  auto samples = torch::tensor({0.3f, -1.2f, 0.7f, 2.0f}).view({1, 4, 1, 1}).expand({1, 4, 3, 5}).contiguous();
  const fs::path file = scratch.path() / "input" / "constant.latent";
  models::save_tensors(file, {{"latent_tensor", samples}, {"latent_format_version_0", torch::empty({0})}});
  const auto latent = output<LatentValue>(
      {{"l", {{"type", "LoadLatent"}, {"inputs", {{"latent", "constant.latent"}}}}},
       {"u", {{"type", "LatentUpscale"},
              {"inputs", {{"samples", output_of("l", "LATENT")}, {"upscale_method", "bislerp"}, {"width", 96}, {"height", 64}}}}}},
      "u", "LATENT");
  ASSERT_EQ(latent->samples().sizes(), (std::vector<std::int64_t>{1, 4, 8, 12}));
  EXPECT_TRUE(torch::allclose(latent->samples(), samples[0].select(1, 0).select(1, 0).view({1, 4, 1, 1}).expand({1, 4, 8, 12}),
                              1e-5, 1e-5));
}

TEST_F(ImageNodesTest, BislerpSlerpsDirectionAndLerpsLength) {
  // Two latent pixels, (1, 0) and (0, 2), widened from 2 to 8 columns (64 pixels).
  const auto samples = torch::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({1, 2, 1, 2});
  models::save_tensors(scratch.path() / "input" / "pair.latent",
                       {{"latent_tensor", samples}, {"latent_format_version_0", torch::empty({0})}});
  const auto latent = output<LatentValue>(
      {{"l", {{"type", "LoadLatent"}, {"inputs", {{"latent", "pair.latent"}}}}},
       {"u", {{"type", "LatentUpscale"},
              {"inputs", {{"samples", output_of("l", "LATENT")}, {"upscale_method", "bislerp"}, {"width", 64}, {"height", 8}}}}}},
      "u", "LATENT");
  const auto out = latent->samples();
  ASSERT_EQ(out.sizes(), (std::vector<std::int64_t>{1, 2, 8, 8}));
  // Column 3 sits at source x = 3.5 * 2/8 - 0.5 = 0.375 between the two: the direction turns
  // by 0.375 of the right angle, the length goes from 1 towards 2 by the same ratio.
  const double r = 0.375, half_pi = std::acos(0.0), length = 1.0 * (1 - r) + 2.0 * r;
  EXPECT_NEAR(out[0][0][0][3].item<float>(), std::sin((1 - r) * half_pi) * length, 1e-5);
  EXPECT_NEAR(out[0][1][0][3].item<float>(), std::sin(r * half_pi) * length, 1e-5);
  EXPECT_TRUE(torch::allclose(out.select(3, 0), samples.select(3, 0).expand({1, 2, 8})));
  EXPECT_TRUE(torch::allclose(out.select(3, 7), samples.select(3, 1).expand({1, 2, 8})));
}

TEST_F(ImageNodesTest, SaveLatentAndLoadLatentRoundTrip) {
  torch::manual_seed(7);
  const auto samples = torch::randn({2, 4, 3, 5});
  const fs::path source = scratch.path() / "input" / "source.latent";
  models::save_tensors(source, {{"latent_tensor", samples}, {"latent_format_version_0", torch::empty({0})}});
  const json nodes = {{"l", {{"type", "LoadLatent"}, {"inputs", {{"latent", "source.latent"}}}}},
                      {"s", {{"type", "SaveLatent"}, {"inputs", {{"samples", output_of("l", "LATENT")}}}}}};
  RunResult first = run(nodes);
  RunResult second = run(nodes);
  const fs::path saved = first.results.at("s")[0].at("latent").get<std::string>();
  EXPECT_EQ(saved, scratch.path() / "output" / "latents" / "diffgraph_00001_.latent");
  EXPECT_EQ(fs::path(second.results.at("s")[0].at("latent").get<std::string>()),
            scratch.path() / "output" / "latents" / "diffgraph_00002_.latent");

  // ComfyUI's layout: the samples and the (empty) format marker, the workflow in the metadata.
  const auto file = models::SafetensorsFile::open(saved);
  ASSERT_NE(file.find("latent_format_version_0"), nullptr);
  EXPECT_TRUE(torch::equal(models::load_tensor(file, "latent_tensor"), samples));
  EXPECT_EQ(json::parse(file.metadata().at("workflow")).at("nodes").at("s").at("type"), "SaveLatent");

  const auto loaded =
      output<LatentValue>({{"l", {{"type", "LoadLatent"}, {"inputs", {{"latent", saved.string()}}}}}}, "l", "LATENT");
  EXPECT_TRUE(torch::equal(loaded->samples(), samples));
}

TEST_F(ImageNodesTest, LoadLatentScalesOldFilesWithoutTheFormatMarker) {
  const auto samples = torch::full({1, 4, 2, 2}, 0.18215f);
  models::save_tensors(scratch.path() / "input" / "old.latent", {{"latent_tensor", samples}});
  const auto loaded =
      output<LatentValue>({{"l", {{"type", "LoadLatent"}, {"inputs", {{"latent", "old.latent"}}}}}}, "l", "LATENT");
  EXPECT_TRUE(torch::allclose(loaded->samples(), torch::ones({1, 4, 2, 2}), 1e-6, 1e-6));

  write_bytes(scratch.path() / "input" / "bad.latent", {1, 2, 3});
  ExecutionError error = failure({{"l", {{"type", "LoadLatent"}, {"inputs", {{"latent", "bad.latent"}}}}}}, {"l"});
  EXPECT_EQ(error.node_type(), "LoadLatent");
  EXPECT_NE(error.reason().find("bad.latent"), std::string::npos) << error.reason();
}

TEST_F(ImageNodesTest, SetLatentNoiseMaskAttachesTheMask) {
  const auto latent = output<LatentValue>(
      {{"e", {{"type", "EmptyLatentImage"}, {"inputs", {{"width", 32}, {"height", 32}}}}},
       {"m", {{"type", "SolidMask"}, {"inputs", {{"value", 0.75}, {"width", 32}, {"height", 32}}}}},
       {"n", {{"type", "SetLatentNoiseMask"}, {"inputs", {{"samples", output_of("e", "LATENT")}, {"mask", output_of("m", "MASK")}}}}}},
      "n", "LATENT");
  ASSERT_TRUE(latent->noise_mask().has_value());
  EXPECT_NEAR(latent->noise_mask()->mean().item<float>(), 0.75f, 1e-6);
  EXPECT_EQ(latent->samples().sizes(), (std::vector<std::int64_t>{1, 4, 4, 4}));
}

TEST_F(ImageNodesTest, RandomNoiseKeepsAll64SeedBits) {
  // Seeds written in the JSON text, as a workflow file holds them.
  auto seed_of = [&](const std::string& literal) {
    Executor executor(*registry_);
    RunOptions run_options = options;
    run_options.targets = {"r"};
    const Graph graph = parse_graph(R"({"format": "diffgraph/1", "nodes": {"r": {"type": "RandomNoise", "inputs": {"noise_seed": )" +
                                    literal + "}}}}");
    return value_cast<NoiseValue>(executor.run(graph, run_options).outputs.at("r").at("NOISE"));
  };
  const std::uint64_t large = (std::uint64_t{1} << 63) - 1;
  const auto noise = seed_of("9223372036854775807");
  ASSERT_TRUE(noise);
  EXPECT_EQ(noise->seed(), large);
  // The noise is that of a CPU generator seeded with the full value.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(large);
  EXPECT_TRUE(torch::equal(diffgraph::sampling::initial_noise(noise->seed(), {1, 4, 2, 3}), at::randn({1, 4, 2, 3}, generator)));

  // 2^64-1 arrives as -1 (two's complement) and comes out as the unsigned seed.
  EXPECT_EQ(seed_of("18446744073709551615")->seed(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(seed_of("0")->seed(), 0u);
}

// --- ShapesImage ---------------------------------------------------------------------------------

TEST_F(ImageNodesTest, ShapesImageDrawsTheCaptionWithItsCoverageAsMask) {
  const json nodes = {{"s", {{"type", "ShapesImage"}, {"inputs", {{"caption", "a large red square in the center on a blue background"}}}}}};
  RunResult result = run(nodes, {"s"});
  const auto image = value_cast<ImageValue>(result.outputs.at("s").at("IMAGE"))->pixels();
  const auto mask = value_cast<MaskValue>(result.outputs.at("s").at("MASK"))->mask();
  ASSERT_EQ(image.sizes(), (std::vector<std::int64_t>{1, 64, 64, 3}));  // the default size
  ASSERT_EQ(mask.sizes(), (std::vector<std::int64_t>{1, 64, 64}));
  // The issue's colours, exactly: blue in the corner, red in the middle.
  EXPECT_TRUE(torch::allclose(image[0][0][0], torch::tensor({40.0f, 70.0f, 220.0f}) / 255.0f, 0, 1e-6));
  EXPECT_TRUE(torch::allclose(image[0][32][32], torch::tensor({220.0f, 40.0f, 40.0f}) / 255.0f, 0, 1e-6));
  EXPECT_EQ(mask[0][0][0].item<float>(), 0.0f);
  EXPECT_EQ(mask[0][32][32].item<float>(), 1.0f);
  // The large size's equal area: a circle of radius 0.21 of the side.
  EXPECT_NEAR(mask.sum().item<double>() / (64.0 * 64.0), M_PI * 0.21 * 0.21, 0.002);
  // The picture blends the two colours by the mask.
  const auto red = torch::tensor({220.0f, 40.0f, 40.0f}) / 255.0f, blue = torch::tensor({40.0f, 70.0f, 220.0f}) / 255.0f;
  const auto blended = blue + (red - blue) * mask.unsqueeze(-1);
  EXPECT_LE((image - blended).abs().max().item<float>(), 0.5f / 255.0f + 1e-6f);
}

TEST_F(ImageNodesTest, ShapesImageSeedDrawsUnstatedAttributesReproducibly) {
  auto mask_for = [&](const std::string& caption, std::int64_t seed, std::int64_t side) {
    const json nodes = {{"s", {{"type", "ShapesImage"},
                               {"inputs", {{"caption", caption}, {"seed", seed}, {"width", side}, {"height", side}}}}}};
    return value_cast<MaskValue>(run(nodes, {"s"}).outputs.at("s").at("MASK"))->mask();
  };
  const std::string unstated = "a green cross on a white background";
  EXPECT_TRUE(torch::equal(mask_for(unstated, 5, 48), mask_for(unstated, 5, 48)));
  bool differs = false;
  for (std::int64_t seed = 1; seed < 6 && !differs; ++seed)
    differs = !torch::equal(mask_for(unstated, 0, 48), mask_for(unstated, seed, 48));
  EXPECT_TRUE(differs) << "the seed draws size, position and jitter";
  EXPECT_EQ(mask_for("a small black triangle at the top left on a yellow background", 0, 256).sizes(),
            (std::vector<std::int64_t>{1, 256, 256}));
}

TEST_F(ImageNodesTest, ShapesImageRejectsBadCaptionsAndNonSquareSizes) {
  ExecutionError error =
      failure({{"s", {{"type", "ShapesImage"}, {"inputs", {{"caption", "a red dragon on a blue background"}}}}}}, {"s"});
  EXPECT_EQ(error.node_type(), "ShapesImage");
  EXPECT_NE(error.reason().find("\"dragon\""), std::string::npos) << error.reason();
  error = failure({{"s", {{"type", "ShapesImage"}, {"inputs", {{"width", 64}, {"height", 32}}}}}}, {"s"});
  EXPECT_NE(error.reason().find("square"), std::string::npos) << error.reason();
}
