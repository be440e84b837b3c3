// Node types for the editor-core tests, registered straight into a Registry: small integer and
// text nodes, a slow node that reports progress with a preview, and an IMAGE maker/saver pair
// standing in for VAEDecode/SaveImage (torch-free). Each node counts its executions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <diffgraph/engine.hpp>
#include <diffgraph/editor/editor_core.hpp>

namespace diffgraph::editor::testing {

/// A tiny IMAGE: `size` x `size` pixels of one grey level.
class TestImage final : public Value {
 public:
  TestImage(int size, std::uint8_t level) : size_(size), level_(level) {}
  std::string_view type() const override { return "IMAGE"; }
  std::size_t byte_size() const override { return sizeof(*this) + static_cast<std::size_t>(size_ * size_ * 3); }
  std::string summary() const override { return "IMAGE " + std::to_string(size_); }
  std::optional<PreviewImage> preview() const override {
    PreviewImage p;
    p.width = p.height = size_;
    p.rgba.assign(static_cast<std::size_t>(size_ * size_ * 4), level_);
    return p;
  }

 private:
  int size_;
  std::uint8_t level_;
};

struct TestNodes {
  std::mutex mutex;
  std::map<std::string, int> runs;  // node id → executions

  void count(NodeContext& ctx) {
    std::lock_guard lock(mutex);
    ++runs[ctx.node_id()];
  }
  int runs_of(const std::string& id) {
    std::lock_guard lock(mutex);
    return runs.count(id) ? runs.at(id) : 0;
  }

  std::shared_ptr<Registry> make_registry() {
    auto registry = std::make_shared<Registry>();
    registry->add_type({"IMAGE", {100, 180, 255, 255}, "a picture"});
    registry->add_type({"LATENT", {255, 150, 200, 255}, "latent"});

    NodeSpec number;
    number.type = "Number";
    number.display_name = "Number";
    number.category = "math";
    number.description = "An integer constant.";
    number.inputs = {InputSpec::integer("value", 1).range(-1000, 1000)};
    number.outputs = {{"INT", "INT", "the value"}};
    number.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.set_output("INT", make_value<IntValue>(ctx.get_int("value")));
    };
    registry->add_node(number);

    NodeSpec add;
    add.type = "Add";
    add.category = "math";
    add.description = "a + b";
    add.inputs = {InputSpec::link("a", "INT"), InputSpec::integer("b", 0), InputSpec::number("scale", 1.0)};
    add.outputs = {{"INT", "INT", "the sum"}};
    add.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.set_output("INT", make_value<IntValue>(ctx.get_int("a") + ctx.get_int("b")));
    };
    registry->add_node(add);

    NodeSpec to_text;
    to_text.type = "ToText";
    to_text.category = "text";
    to_text.inputs = {InputSpec::link("value", "INT"), InputSpec::text("prefix", "").multiline_text()};
    to_text.outputs = {{"STRING", "STRING", "the text"}};
    to_text.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.set_output("STRING", make_value<StringValue>(ctx.get_string("prefix") + std::to_string(ctx.get_int("value"))));
    };
    registry->add_node(to_text);

    NodeSpec show;
    show.type = "Show";
    show.category = "utils";
    show.output_node = true;
    show.inputs = {InputSpec::link("value", "*")};
    show.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.add_result({{"text", ctx.input("value")->summary()}});
    };
    registry->add_node(show);

    NodeSpec slow;
    slow.type = "Slow";
    slow.category = "testing";
    slow.inputs = {InputSpec::link("x", "INT"), InputSpec::integer("steps", 5).range(1, 100000),
                   InputSpec::integer("step_ms", 1).range(0, 1000)};
    slow.outputs = {{"INT", "INT", "x, after a while"}};
    slow.execute = [this](NodeContext& ctx) {
      count(ctx);
      const auto steps = ctx.get_int("steps");
      for (std::int64_t step = 1; step <= steps; ++step) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ctx.get_int("step_ms")));
        PreviewImage preview;
        preview.width = preview.height = 2;
        preview.rgba.assign(16, static_cast<std::uint8_t>(step));
        ctx.progress(static_cast<int>(step), static_cast<int>(steps), preview);
      }
      ctx.set_output("INT", ctx.input("x"));
    };
    registry->add_node(slow);

    NodeSpec make_image;
    make_image.type = "MakeImage";
    make_image.category = "image";
    make_image.inputs = {InputSpec::link("level", "INT"), InputSpec::integer("size", 4).range(1, 64)};
    make_image.outputs = {{"IMAGE", "IMAGE", "a grey picture"}};
    make_image.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.set_output("IMAGE", make_value<TestImage>(static_cast<int>(ctx.get_int("size")),
                                                    static_cast<std::uint8_t>(ctx.get_int("level"))));
    };
    registry->add_node(make_image);

    NodeSpec save;
    save.type = "SaveImg";
    save.category = "image";
    save.output_node = true;
    save.inputs = {InputSpec::link("images", "IMAGE"), InputSpec::text("filename_prefix", "test")};
    save.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.get<TestImage>("images");
      ctx.add_result({{"image", "output/" + ctx.get_string("filename_prefix") + "_00001.png"}});
    };
    registry->add_node(save);

    NodeSpec fail;
    fail.type = "FailIfNegative";
    fail.category = "testing";
    fail.inputs = {InputSpec::link("x", "INT")};
    fail.outputs = {{"INT", "INT", "x"}};
    fail.execute = [this](NodeContext& ctx) {
      count(ctx);
      if (ctx.get_int("x") < 0) throw NodeError("x is negative");
      ctx.set_output("INT", ctx.input("x"));
    };
    registry->add_node(fail);

    NodeSpec to_latent;
    to_latent.type = "NeedsLatent";
    to_latent.category = "testing";
    to_latent.inputs = {InputSpec::link("samples", "LATENT")};
    to_latent.outputs = {{"LATENT", "LATENT", ""}};
    to_latent.execute = [](NodeContext& ctx) { ctx.set_output("LATENT", ctx.input("samples")); };
    registry->add_node(to_latent);
    return registry;
  }
};

/// A temporary folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/diffgraph-editor-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace diffgraph::editor::testing
