// Node search and pin compatibility: ranking, highlights, filters, categories.
#include <gtest/gtest.h>

#include <diffgraph/editor/node_search.hpp>

using namespace diffgraph;
using namespace diffgraph::editor;

namespace {

// A registry shaped like the diffusion library (names and types as ComfyUI users know them).
class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* type : {"MODEL", "CLIP", "VAE", "CONDITIONING", "LATENT", "IMAGE"}) registry.add_type({type, {}, ""});
    add("KSampler", "sampling", "Denoises a latent with a model and conditioning.",
        {InputSpec::link("model", "MODEL"), InputSpec::link("positive", "CONDITIONING"),
         InputSpec::link("negative", "CONDITIONING"), InputSpec::link("latent_image", "LATENT"), InputSpec::integer("seed", 0)},
        {{"LATENT", "LATENT", ""}});
    add("KSamplerAdvanced", "sampling", "KSampler with start and end steps.",
        {InputSpec::link("model", "MODEL"), InputSpec::link("latent_image", "LATENT")}, {{"LATENT", "LATENT", ""}});
    add("VAEDecode", "latent", "Decodes latent images back into pixel space images.",
        {InputSpec::link("samples", "LATENT"), InputSpec::link("vae", "VAE")}, {{"IMAGE", "IMAGE", ""}});
    add("VAEEncode", "latent", "Encodes pixel space images into latent images.",
        {InputSpec::link("pixels", "IMAGE"), InputSpec::link("vae", "VAE")}, {{"LATENT", "LATENT", ""}});
    add("EmptyLatentImage", "latent", "An empty latent of a size.",
        {InputSpec::integer("width", 512), InputSpec::integer("height", 512)}, {{"LATENT", "LATENT", ""}});
    add("CheckpointLoaderSimple", "loaders", "Loads a diffusion model checkpoint.", {InputSpec::text("ckpt_name")},
        {{"MODEL", "MODEL", ""}, {"CLIP", "CLIP", ""}, {"VAE", "VAE", ""}});
    add("CLIPTextEncode", "conditioning", "Encodes a text prompt with a CLIP model.",
        {InputSpec::link("clip", "CLIP"), InputSpec::text("text").multiline_text()}, {{"CONDITIONING", "CONDITIONING", ""}});
    add("SaveImage", "image", "Saves the images to your output folder.",
        {InputSpec::link("images", "IMAGE"), InputSpec::text("filename_prefix", "diffgraph")}, {}, true);
    add("LatentUpscale", "latent", "Resizes a latent.", {InputSpec::link("samples", "LATENT")}, {{"LATENT", "LATENT", ""}});
    add("Display", "utils", "Shows any value.", {InputSpec::link("value", "*")}, {}, true);
  }

  void add(std::string type, std::string category, std::string description, std::vector<InputSpec> inputs,
           std::vector<OutputSpec> outputs, bool output_node = false) {
    NodeSpec spec;
    spec.type = std::move(type);
    spec.category = std::move(category);
    spec.description = std::move(description);
    spec.inputs = std::move(inputs);
    spec.outputs = std::move(outputs);
    spec.output_node = output_node;
    spec.execute = [](NodeContext&) {};
    registry.add_node(std::move(spec));
  }

  std::vector<std::string> top(std::string_view query, std::size_t n = 3,
                               const std::optional<PinFilter>& filter = std::nullopt) const {
    std::vector<std::string> out;
    for (const auto& hit : NodeSearch(registry).find(query, filter, n)) out.push_back(hit.type);
    return out;
  }

  Registry registry;
};

}  // namespace

TEST(FuzzyScore, SubsequencesMatchAndWordStartsAndRunsScoreHigher) {
  EXPECT_FALSE(fuzzy_score("xyz", "KSampler"));
  EXPECT_FALSE(fuzzy_score("samplerk", "KSampler"));  // order matters
  EXPECT_EQ(fuzzy_score("", "anything"), 0);
  std::vector<std::size_t> positions;
  ASSERT_TRUE(fuzzy_score("vae dec", "VAEDecode", &positions));
  EXPECT_EQ(positions, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5}));
  // A prefix beats the same letters in the middle; a word start beats a mid-word match.
  EXPECT_GT(*fuzzy_score("lat", "LatentUpscale"), *fuzzy_score("lat", "EmptyLatentImage"));
  EXPECT_GT(*fuzzy_score("dec", "VAEDecode"), *fuzzy_score("dec", "xxdexc"));
  // Consecutive letters beat scattered ones.
  EXPECT_GT(*fuzzy_score("enc", "VAEEncode"), *fuzzy_score("enc", "EmptyLatentImageNoCrop"));
  // The exact name wins over a longer one starting with it.
  EXPECT_GT(*fuzzy_score("ksampler", "KSampler"), *fuzzy_score("ksampler", "KSamplerAdvanced"));
  ASSERT_TRUE(fuzzy_score("ckpt", "CheckpointLoaderSimple", &positions));
  EXPECT_EQ(positions.size(), 4u);
}

TEST_F(SearchTest, RanksWhatAComfyUIUserTypes) {
  EXPECT_EQ(top("ksampler")[0], "KSampler");
  EXPECT_EQ(top("ks")[0], "KSampler");
  EXPECT_EQ(top("ks")[1], "KSamplerAdvanced");
  EXPECT_EQ(top("vae dec")[0], "VAEDecode");
  EXPECT_EQ(top("vaeenc")[0], "VAEEncode");
  EXPECT_EQ(top("empty")[0], "EmptyLatentImage");
  EXPECT_EQ(top("ckpt")[0], "CheckpointLoaderSimple");
  EXPECT_EQ(top("clip text")[0], "CLIPTextEncode");
  EXPECT_EQ(top("save")[0], "SaveImage");
  EXPECT_EQ(top("upscale")[0], "LatentUpscale");
  // The category finds nodes whose names do not match.
  EXPECT_EQ(top("loaders", 1)[0], "CheckpointLoaderSimple");
  // Whole words of the description count, scattered letters in it do not.
  EXPECT_EQ(top("prompt", 5), (std::vector<std::string>{"CLIPTextEncode"}));
  EXPECT_TRUE(top("qqq").empty());
  // A blank query lists everything by category.
  const auto all = NodeSearch(registry).find("  ");
  ASSERT_EQ(all.size(), registry.nodes().size());
  EXPECT_EQ(all.front().spec->category, "conditioning");
}

TEST_F(SearchTest, HighlightsTheMatchedLettersOfTheName) {
  const auto hits = NodeSearch(registry).find("vdec");
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].type, "VAEDecode");
  EXPECT_EQ(hits[0].highlight, (std::vector<std::size_t>{0, 3, 4, 5}));
}

TEST_F(SearchTest, AFilterKeepsOnlyNodesThatCanTakeTheDraggedWire) {
  // A LATENT output dragged onto empty canvas: nodes with a LATENT (or "*") input.
  const auto hits = NodeSearch(registry).find("", PinFilter{"LATENT", PinSide::Output}, 50);
  std::vector<std::string> types;
  for (const auto& hit : hits) types.push_back(hit.type);
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"Display", "KSampler", "KSamplerAdvanced", "LatentUpscale", "VAEDecode"}));
  for (const auto& hit : hits)
    if (hit.type == "KSampler") EXPECT_EQ(hit.pin, "latent_image");
  // A VAE input dragged out: nodes with a VAE output.
  EXPECT_EQ(top("", 5, PinFilter{"VAE", PinSide::Input}), (std::vector<std::string>{"CheckpointLoaderSimple"}));
  EXPECT_EQ(top("dec", 5, PinFilter{"LATENT", PinSide::Output}), (std::vector<std::string>{"VAEDecode"}));
}

TEST_F(SearchTest, CompatiblePinsForDimmingAndTheLibraryByCategory) {
  const auto inputs = compatible_pins(registry, "IMAGE", PinSide::Output);
  EXPECT_EQ(inputs, (std::vector<PinMatch>{{"Display", "value", "*"}, {"SaveImage", "images", "IMAGE"},
                                           {"VAEEncode", "pixels", "IMAGE"}}));
  const auto outputs = compatible_pins(registry, "MODEL", PinSide::Input);
  EXPECT_EQ(outputs, (std::vector<PinMatch>{{"CheckpointLoaderSimple", "MODEL", "MODEL"}}));
  EXPECT_TRUE(pin_types_compatible("INT", "*"));
  EXPECT_FALSE(pin_types_compatible("INT", "FLOAT"));
  EXPECT_FALSE(pin_types_compatible("", "*"));
  EXPECT_EQ(first_compatible_pin(*registry.find_node("KSampler"), "CONDITIONING", PinSide::Output), "positive");
  EXPECT_EQ(first_compatible_pin(*registry.find_node("SaveImage"), "LATENT", PinSide::Output), std::nullopt);
  const auto library = nodes_by_category(registry);
  EXPECT_EQ(library.at("latent").size(), 4u);
  EXPECT_EQ(display_name(*library.at("latent")[0]), "EmptyLatentImage");
}
