// PreviewImage: shows images without keeping them. Like ComfyUI it writes them to a temporary
// folder (setting "temp_dir", default <system temp>/diffgraph), never into the output folder,
// and records each file as a result of type "temp".
#include <random>

#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/file_names.hpp"
#include "pipeline/image_io.hpp"

namespace diffgraph::nodes {

namespace {

std::filesystem::path temp_folder(const Environment& environment) {
  const std::string configured = environment.setting("temp_dir");
  if (!configured.empty()) return configured;
  std::error_code ec;
  std::filesystem::path system = std::filesystem::temp_directory_path(ec);
  if (ec) system = "/tmp";
  return system / "diffgraph";
}

// Five random letters, so previews of concurrent runs sharing the folder stay apart.
std::string random_suffix() {
  static thread_local std::mt19937 generator{std::random_device{}()};
  std::uniform_int_distribution<int> letter(0, 25);
  std::string suffix(5, 'a');
  for (char& c : suffix) c = static_cast<char>('a' + letter(generator));
  return suffix;
}

NodeSpec preview_image() {
  NodeSpec spec;
  spec.type = "PreviewImage";
  spec.display_name = "Preview Image";
  spec.category = "image";
  spec.description =
      "Shows the images: writes them as PNGs (with the workflow) to the temporary folder (setting temp_dir, "
      "default <system temp>/diffgraph), not the output folder, and records them as results of type \"temp\".";
  spec.output_node = true;
  spec.inputs = {InputSpec::link("images", "IMAGE").describe("the images to show")};
  spec.execute = [](NodeContext& ctx) {
    const torch::Tensor rgb8 = image_to_rgb8(ctx.get<ImageValue>("images")->pixels());
    NumberedOutputFiles files(temp_folder(ctx.environment()), "diffgraph_temp_" + random_suffix());
    const std::vector<std::pair<std::string, std::string>> text{{"workflow", png_safe_json(ctx.workflow_json())}};
    for (std::int64_t i = 0; i < rgb8.size(0); ++i) {
      ctx.throw_if_cancelled();
      const auto path = files.claim("_.png");
      try {
        // Fast compression: previews are looked at once.
        write_file_atomically(path, [&](const std::filesystem::path& temporary) {
          write_png(temporary, rgb8[i], text, /*compression_level=*/1);
        });
      } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
        throw;
      }
      ctx.add_result({{"image", path.string()}, {"type", "temp"}});
    }
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(preview_image);

}  // namespace diffgraph::nodes
