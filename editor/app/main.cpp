// diffgraph-editor: the graph editor's window. Loads plugins like the CLI, opens the window
// (GLFW + OpenGL 3.3 + Dear ImGui), and runs EditorUi::frame() until the user quits.
// `--screenshot FILE` renders N frames (after the run when `--run`), writes the window as a
// PNG plus FILE.json (where the nodes and pictures are on screen), and exits: the window test
// and the docs screenshot use it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <imgui.h>

#include <diffgraph/abi.hpp>
#include <diffgraph/plugin_loader.hpp>
#include <diffgraph/editor/editor_core.hpp>

#include "editor_ui.hpp"
#include "gl_window.hpp"

namespace {

namespace fs = std::filesystem;
using namespace diffgraph;
using namespace diffgraph::editor;

// Exit codes follow the CLI's (docs/cli.md), plus one for a missing display.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInvalidGraph = 3;
constexpr int kExitExecution = 4;
constexpr int kExitNoDisplay = 5;

struct Options {
  std::string graph;
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> model_dirs;
  std::string output_dir = "output";
  float scale = 0;  // 0: the monitor's content scale
  std::string size = "1280x800";
  bool run = false;
  std::string screenshot;
  int frames = 3;
  double timeout = 600;
  bool no_restore = false;
};

bool parse_size(const std::string& text, int& width, int& height) {
  return std::sscanf(text.c_str(), "%dx%d", &width, &height) == 2 && width >= 320 && height >= 240;
}

int screenshot_exit_code(int file_code, const RunReport& report, bool ran) {
  if (file_code != kExitOk) return file_code;
  if (!ran) return kExitOk;
  switch (report.phase) {
    case RunPhase::Finished: return kExitOk;
    case RunPhase::Invalid: return kExitInvalidGraph;
    case RunPhase::Running: return kExitFailure;  // timed out
    default: return kExitExecution;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app("diffgraph-editor: build, run and inspect diffgraph workflows", "diffgraph-editor");
  app.set_version_flag("--version", std::string("diffgraph-editor ") + engine_version());
  app.add_option("GRAPH", options.graph, "workflow to open (.json, or a PNG saved by diffgraph)");
  // One folder per occurrence, so `--models DIR graph.json` leaves the graph positional.
  app.add_option("--plugins", options.plugin_dirs, "also load plugins from DIR (repeatable)")->allow_extra_args(false);
  app.add_option("--models", options.model_dirs, "folders model loaders search first (repeatable)")->allow_extra_args(false);
  app.add_option("--output-dir", options.output_dir, "where output nodes write files (default: output)");
  app.add_option("--scale", options.scale, "UI scale for HiDPI screens (default: the monitor's)")->check(CLI::Range(0.5, 4.0));
  app.add_option("--size", options.size, "window size WIDTHxHEIGHT (default 1280x800)");
  app.add_flag("--run", options.run, "start running the graph once it is open");
  app.add_option("--screenshot", options.screenshot, "write the window to FILE (PNG) after --frames frames, then exit");
  app.add_option("--frames", options.frames, "frames to render before the screenshot (after the run with --run)")->check(CLI::PositiveNumber);
  app.add_option("--timeout", options.timeout, "with --screenshot --run: seconds to wait for the run (default 600)");
  app.add_flag("--no-restore", options.no_restore, "do not offer to restore backups of unsaved work");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  int width = 0, height = 0;
  if (!parse_size(options.size, width, height)) {
    std::fprintf(stderr, "diffgraph-editor: --size %s: expected WIDTHxHEIGHT, at least 320x240\n", options.size.c_str());
    return kExitUsage;
  }
  const bool screenshot_mode = !options.screenshot.empty();

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // the layout is fixed; nothing to remember

  int exit_code = kExitOk;
  try {
    ui::GlWindow window(width, height, "diffgraph editor");

    // Plugins and folders exactly as `diffgraph run` finds them.
    std::vector<fs::path> extra(options.plugin_dirs.begin(), options.plugin_dirs.end());
    PluginHost plugins(plugin_search_path(extra));
    for (const PluginInfo& plugin : plugins.plugins())
      if (!plugin.loaded) std::fprintf(stderr, "warning: plugin %s was not loaded: %s\n", plugin.path.c_str(), plugin.error.c_str());
    RunSessionOptions session_options;
    session_options.environment.output_dir = options.output_dir;
    session_options.environment.model_dirs = model_search_path({options.model_dirs.begin(), options.model_dirs.end()});
    session_options.environment.settings["device"] = "cpu";
    session_options.environment.settings["dtype"] = "fp32";
    RunSession session(plugins.registry(), session_options);
    Document document(plugins.registry());
    InputChoices choices(session_options.environment);
    RecentFiles recent;
    AutoBackup backup;

    const float scale = options.scale > 0 ? options.scale : window.content_scale();
    ui::EditorUi editor({document, session, plugins, choices, recent, screenshot_mode ? nullptr : &backup},
                        window.textures(), scale);

    int file_code = kExitOk;
    if (!options.graph.empty() && !editor.open_file(options.graph)) {
      std::fprintf(stderr, "diffgraph-editor: %s\n", editor.state().status_message.c_str());
      file_code = kExitInvalidGraph;
    }
    if (!screenshot_mode && !options.no_restore) editor.offer_backups(AutoBackup::list());
    bool ran = false;
    if (options.run && file_code == kExitOk) ran = editor.run();
    const bool run_requested = options.run && file_code == kExitOk;

    const auto started = std::chrono::steady_clock::now();
    int frames_after_run = 0;
    std::string title;
    while (true) {
      // An idle editor sleeps until input arrives; a run in progress repaints for progress.
      if (!screenshot_mode && !session.running()) window.wait_events(0.25);
      window.begin_frame();
      ImGui::NewFrame();
      editor.frame();
      ImGui::Render();

      bool take_screenshot = false;
      if (screenshot_mode) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const bool waiting = ran && session.running() && elapsed < options.timeout;
        if (!waiting) {
          // The run just ended: show the whole graph with its pictures, then let it settle.
          if (frames_after_run == 0 && ran) editor.fit_view();
          ++frames_after_run;
        }
        take_screenshot = frames_after_run > options.frames;
      }
      window.end_frame(!take_screenshot);
      if (take_screenshot) {
        const ui::Pixels pixels = window.read_pixels();
        ui::write_png(options.screenshot, pixels.width, pixels.height, pixels.rgba);
        nlohmann::json sidecar = editor.report().to_json(window.framebuffer_scale());
        const RunReport report = session.last_report();
        sidecar["width"] = pixels.width;
        sidecar["height"] = pixels.height;
        sidecar["run"] = {{"phase", to_string(report.phase)}, {"message", report.message}};
        std::ofstream(options.screenshot + ".json") << sidecar.dump(2) << "\n";
        window.present();
        if (session.running()) {
          session.cancel();
          std::fprintf(stderr, "diffgraph-editor: the run did not finish within %.0f s\n", options.timeout);
        }
        session.wait();
        if (report.phase == RunPhase::Failed || report.phase == RunPhase::Invalid)
          std::fprintf(stderr, "diffgraph-editor: run %s: %s\n", to_string(report.phase), report.message.c_str());
        if (run_requested && !ran) std::fprintf(stderr, "diffgraph-editor: %s\n", editor.state().status_message.c_str());
        exit_code = screenshot_exit_code(file_code, report, run_requested);
        break;
      }

      if (const std::string now = editor.window_title(); now != title) window.set_title(title = now);
      if (auto dropped = window.take_dropped_files(); !dropped.empty()) editor.drop_files(dropped);
      if (window.close_requested()) {
        window.cancel_close();
        editor.request_close();
      }
      if (editor.should_quit()) break;
      if (auto new_scale = editor.take_scale_request()) {
        editor.set_scale(*new_scale);
        window.reload_fonts();
      }
    }
    session.cancel();
    session.wait();
  } catch (const ui::NoDisplay& e) {
    std::fprintf(stderr, "diffgraph-editor: %s\n", e.what());
    ImGui::DestroyContext();
    return kExitNoDisplay;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diffgraph-editor: %s\n", e.what());
    ImGui::DestroyContext();
    return kExitFailure;
  }
  ImGui::DestroyContext();
  return exit_code;
}
