// SaveImage: writes each image as <output>/<prefix>_00001_.png (ComfyUI's naming), taking the
// next free number and never replacing a file, with the workflow in a "workflow" text chunk so
// the picture can be dropped back into an editor.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/file_names.hpp"
#include "pipeline/image_io.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec save_image() {
  NodeSpec spec;
  spec.type = "SaveImage";
  spec.display_name = "Save Image";
  spec.category = "image";
  spec.description =
      "Saves the images as 8-bit PNGs named <output>/<filename_prefix>_00001_.png, numbering on from the highest "
      "number present and never overwriting. Each PNG carries the workflow in a \"workflow\" text chunk.";
  spec.output_node = true;
  spec.inputs = {InputSpec::link("images", "IMAGE").describe("the images to save"),
                 InputSpec::text("filename_prefix", "diffgraph")
                     .describe("file name start; may begin with sub-folders of the output folder (\"portraits/cat\")")};
  spec.execute = [](NodeContext& ctx) {
    const torch::Tensor rgb8 = image_to_rgb8(ctx.get<ImageValue>("images")->pixels());
    NumberedOutputFiles files(ctx.environment().output_dir, ctx.get_string("filename_prefix"));
    const std::vector<std::pair<std::string, std::string>> text{{"workflow", png_safe_json(ctx.workflow_json())}};
    for (std::int64_t i = 0; i < rgb8.size(0); ++i) {
      ctx.throw_if_cancelled();
      const auto path = files.claim("_.png");
      try {
        write_file_atomically(path, [&](const std::filesystem::path& temporary) {
          write_png(temporary, rgb8[i], text, /*compression_level=*/4);
        });
      } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);  // give the claimed name back
        throw;
      }
      ctx.add_result({{"image", path.string()}});
    }
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(save_image);

}  // namespace diffgraph::nodes
