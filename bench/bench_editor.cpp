// The editor's frame cost: one EditorUi::frame() of a 200-node graph, from ImGui::NewFrame()
// to ImGui::Render() (widgets, wires, text and draw-list generation), on the CPU and with no
// window: what every frame costs before the GPU draws it. Target: under 16 ms (60 fps).
//
// Three views of the same graph (basic-plugin nodes with widgets, wired in chains):
//   AllDetailed  2560x1440, every node on screen at a zoom that still shows every widget;
//   Fit          1280x800, the whole graph fitted (zoomed out: nodes drawn without widgets);
//   Zoom100      1280x800 at 100 %, most nodes off screen (culled).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include <diffgraph/editor/editor_core.hpp>

#include "editor_ui.hpp"
#include "headless.hpp"

namespace {

using namespace diffgraph;
using namespace diffgraph::editor;

struct Bench {
  Bench(float width, float height)
      : imgui(width, height),
        plugins({std::filesystem::path(BASIC_PLUGIN_FILE)}),
        session(plugins.registry()),
        document(plugins.registry()),
        recent(std::filesystem::temp_directory_path() / "diffgraph-bench-editor-recent.json"),
        editor({document, session, plugins, choices, recent, nullptr}, textures) {
    build_graph();
  }

  // 200 nodes on an 18-column grid: chains Int → IntMath → IntMath → Display, prompts (String),
  // text and float math; every node has widgets or wires.
  void build_graph() {
    const char* types[] = {"Int", "IntMath", "IntMath", "FloatMath", "StringConcat", "String", "Display"};
    std::string previous_int;
    for (int i = 0; i < 200; ++i) {
      const std::string type = types[i % 7];
      const Vec2 pos{static_cast<float>(i % 18) * 260.0f, static_cast<float>(i / 18) * 175.0f};
      const std::string id = document.add_node(type, pos);
      if (type == "String") document.set_literal(id, "value", std::string("a large red circle in the center on a blue background"));
      if (type == "IntMath" && !previous_int.empty()) document.connect(OutputPin{previous_int, "INT"}, InputPin{id, "a"});
      if (type == "Display" && !previous_int.empty()) document.connect(OutputPin{previous_int, "INT"}, InputPin{id, "value"});
      if (type == "Int" || type == "IntMath") previous_int = id;
    }
  }

  void frame() {
    imgui.frame([this] { editor.frame(); });
  }

  ui::HeadlessContext imgui;
  ui::NullTextureBackend textures;
  PluginHost plugins;
  RunSession session;
  Document document;
  InputChoices choices;
  RecentFiles recent;
  ui::EditorUi editor;
};

void run(benchmark::State& state, Bench& bench) {
  bench.frame();
  bench.frame();
  for (auto _ : state) bench.frame();
  const ImDrawData* data = ImGui::GetDrawData();
  const auto& report = bench.editor.report();
  state.counters["nodes_drawn"] = static_cast<double>(report.nodes.size());
  state.counters["widgets"] = static_cast<double>(report.widgets.size());
  state.counters["vertices"] = data ? static_cast<double>(data->TotalVtxCount) : 0.0;
}

void BM_EditorFrame200_AllDetailed(benchmark::State& state) {
  Bench bench(2560, 1440);
  bench.frame();
  // The widest zoom that keeps widgets (45 %), showing the whole graph.
  bench.editor.fit_view();
  bench.frame();
  ui::CanvasView& view = bench.editor.view();
  view.zoom_at(bench.editor.state().canvas_screen.center(), std::max(view.zoom, ui::theme::kDetailZoom));
  bench.frame();
  run(state, bench);
  if (bench.editor.report().nodes.size() != 200 || bench.editor.report().widgets.size() < 300)
    state.SkipWithError("not every node is on screen with its widgets");
}
BENCHMARK(BM_EditorFrame200_AllDetailed)->Unit(benchmark::kMillisecond);

void BM_EditorFrame200_Fit(benchmark::State& state) {
  Bench bench(1280, 800);
  bench.frame();
  bench.editor.fit_view();
  run(state, bench);
}
BENCHMARK(BM_EditorFrame200_Fit)->Unit(benchmark::kMillisecond);

void BM_EditorFrame200_Zoom100(benchmark::State& state) {
  Bench bench(1280, 800);
  bench.frame();
  bench.editor.view().zoom = 1.0f;
  bench.editor.view().scroll = {0, 0};
  run(state, bench);
}
BENCHMARK(BM_EditorFrame200_Zoom100)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
