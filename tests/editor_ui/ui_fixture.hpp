// A headless editor for UI tests: the `basic` plugin loaded from its file, the core objects,
// an EditorUi, and a Dear ImGui context without a window that the tests feed with mouse and
// keyboard input frame by frame. Files (recent list, saves) go to a temporary folder.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include <diffgraph/editor/editor_core.hpp>

#include "editor_ui.hpp"
#include "headless.hpp"
#include "keys.hpp"

namespace diffgraph::editor::ui::testing {

namespace fs = std::filesystem;

inline fs::path make_temp_dir(const std::string& tag) {
  std::random_device random;
  const fs::path dir = fs::temp_directory_path() / ("diffgraph-editor-ui-" + tag + "-" + std::to_string(random()));
  fs::create_directories(dir);
  return dir;
}

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class EditorFixture : public ::testing::Test {
 protected:
  explicit EditorFixture(float scale = 1.0f)
      : dir(make_temp_dir("test")),
        imgui(1280, 800, scale),
        plugins({fs::path(BASIC_PLUGIN_FILE)}),
        session(plugins.registry(), session_options(dir)),
        document(plugins.registry()),
        recent(dir / "recent.json"),
        editor({document, session, plugins, choices, recent, nullptr}, textures, scale) {
    imgui.set_body([this] { editor.frame(); });
    imgui.frames(3, [this] { editor.frame(); });  // new windows are hidden on their first frame
  }
  ~EditorFixture() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  static RunSessionOptions session_options(const fs::path& dir) {
    RunSessionOptions options;
    options.environment.output_dir = dir / "output";
    return options;
  }

  void frames(int n = 1) { imgui.frames(n, [this] { editor.frame(); }); }
  const FrameReport& report() const { return editor.report(); }

  /// The centre of a pin on screen (fails the test when the pin is not drawn).
  ImVec2 pin(const std::string& node, const std::string& name, bool output) {
    const FrameReport::Pin* p = report().pin(node, name, output);
    EXPECT_NE(p, nullptr) << "pin " << node << "." << name << " is not on screen";
    return p ? p->center : ImVec2{-1, -1};
  }
  /// The centre of a widget's frame.
  ImVec2 widget(const std::string& node, const std::string& input) {
    const FrameReport::Widget* w = report().widget(node, input);
    EXPECT_NE(w, nullptr) << "widget " << node << "." << input << " is not on screen";
    return w ? w->rect.center() : ImVec2{-1, -1};
  }
  /// The middle of a node's title bar.
  ImVec2 title(const std::string& node) {
    const FrameReport::Node* n = report().node(node);
    EXPECT_NE(n, nullptr) << "node " << node << " is not on screen";
    return n ? n->title.center() : ImVec2{-1, -1};
  }
  /// A point of the canvas on screen.
  ImVec2 screen(Vec2 canvas) { return editor.view().to_screen({canvas.x, canvas.y}); }
  Vec2 canvas(ImVec2 screen_point) {
    const ImVec2 c = editor.view().to_canvas(screen_point);
    return {c.x, c.y};
  }
  /// The only node of `type` (fails when there is not exactly one).
  std::string node_of_type(const std::string& type) {
    std::string found;
    int count = 0;
    for (const auto& [id, node] : document.nodes())
      if (node.type == type) {
        found = id;
        ++count;
      }
    EXPECT_EQ(count, 1) << "nodes of type " << type;
    return found;
  }
  /// Adds a node through the palette: double-click at `at`, type `query`, Enter.
  std::string add_with_palette(ImVec2 at, const std::string& query) {
    const auto before = document.nodes();
    imgui.double_click(at);
    frames(2);
    imgui.type(query);
    imgui.key(keys::kEnter);
    frames(2);
    for (const auto& [id, node] : document.nodes())
      if (!before.count(id)) return id;
    ADD_FAILURE() << "the palette added no node for '" << query << "'";
    return {};
  }
  /// Sets the view: user zoom 1, canvas point (0,0) at the canvas's top-left corner.
  void reset_view() {
    editor.view().zoom = editor.scale();
    editor.view().scroll = {0, 0};
    frames(2);
  }

  fs::path dir;
  HeadlessContext imgui;
  NullTextureBackend textures;
  PluginHost plugins;
  RunSession session;
  Document document;
  InputChoices choices;
  RecentFiles recent;
  EditorUi editor;
};

}  // namespace diffgraph::editor::ui::testing
