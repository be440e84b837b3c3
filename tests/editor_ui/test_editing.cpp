// Editing through real frames: the palette, wires, widgets, undo, selection, clipboard, files,
// running. Every interaction is mouse and keyboard input fed to a windowless ImGui context;
// the results are read back from the core's Document and from saved files.
#include <algorithm>
#include <chrono>

#include <imgui_internal.h>

#include "links.hpp"
#include "shortcuts.hpp"
#include "ui_fixture.hpp"

namespace diffgraph::editor::ui::testing {
namespace {

using Editing = EditorFixture;

TEST_F(Editing, PaletteWireWidgetUndoSaveGivesTheExpectedFile) {
  reset_view();
  // Add two nodes by typing their names into the search palette.
  const std::string math = add_with_palette({500, 200}, "IntMath");
  const std::string display = add_with_palette({900, 260}, "Display");
  ASSERT_FALSE(math.empty());
  ASSERT_FALSE(display.empty());
  EXPECT_EQ(document.node(math)->type, "IntMath");
  EXPECT_EQ(document.node(display)->type, "Display");
  // The new node sits where the palette was opened.
  EXPECT_NEAR(document.node(math)->pos.x, canvas({500, 200}).x, 0.5f);
  EXPECT_NEAR(document.node(math)->pos.y, canvas({500, 200}).y, 0.5f);

  // Connect IntMath.INT -> Display.value by dragging from pin to pin.
  imgui.drag(pin(math, "INT", true), pin(display, "value", false));
  frames(1);
  ASSERT_TRUE(document.source_of(InputPin{display, "value"}).has_value());
  EXPECT_EQ(*document.source_of(InputPin{display, "value"}), (OutputPin{math, "INT"}));

  // Change a widget: double-click the drag box of `a` to type a value.
  imgui.double_click(widget(math, "a"));
  frames(1);
  imgui.key(keys::letter('A'), /*ctrl=*/true);
  imgui.type("7");
  imgui.key(keys::kEnter);
  frames(1);
  EXPECT_EQ(document.input_literal(math, "a"), Literal{std::int64_t{7}});

  const std::size_t steps_before_undo = document.undo_steps();

  // Undo the widget change (Ctrl+Z with the mouse over the canvas).
  imgui.move({1000, 700});
  imgui.key(keys::letter('Z'), /*ctrl=*/true);
  frames(1);
  EXPECT_EQ(document.undo_steps(), steps_before_undo - 1);
  EXPECT_EQ(document.input_literal(math, "a"), Literal{std::int64_t{0}});
  EXPECT_TRUE(document.source_of(InputPin{display, "value"}).has_value()) << "undo went one step too far";

  // Save: Ctrl+S on an untitled document opens Save As; type the path, Enter.
  const fs::path file = dir / "saved.json";
  imgui.key(keys::letter('S'), /*ctrl=*/true);
  frames(2);
  imgui.key(keys::letter('A'), /*ctrl=*/true);
  imgui.type(file.string());
  imgui.key(keys::kEnter);
  frames(1);
  ASSERT_TRUE(fs::exists(file)) << editor.state().file_dialog.error;
  EXPECT_FALSE(document.dirty());
  EXPECT_EQ(document.path(), file);

  const nlohmann::json saved = nlohmann::json::parse(read_text(file));
  EXPECT_EQ(saved["format"], "diffgraph/1");
  ASSERT_EQ(saved["nodes"].size(), 2u);
  EXPECT_EQ(saved["nodes"][math]["type"], "IntMath");
  EXPECT_EQ(saved["nodes"][math]["inputs"]["a"], 0);
  EXPECT_EQ(saved["nodes"][math]["inputs"]["op"], "add");
  EXPECT_EQ(saved["nodes"][display]["type"], "Display");
  EXPECT_EQ(saved["nodes"][display]["inputs"]["value"], (nlohmann::json{{"node", math}, {"output", "INT"}}));
  const auto pos = saved["nodes"][math]["editor"]["pos"];
  EXPECT_NEAR(pos[0].get<double>(), canvas({500, 200}).x, 0.5);
  // The file is the one the CLI runs: the engine parses it.
  EXPECT_NO_THROW(parse_graph(read_text(file), file.string()));
  EXPECT_EQ(recent.entries().front(), fs::absolute(file));
}

TEST_F(Editing, BoxSelectThenDeleteRemovesOnlyTheBoxedNodes) {
  const std::string a = document.add_node("IntMath", {100, 100});
  const std::string b = document.add_node("IntMath", {400, 100});
  const std::string far = document.add_node("Display", {100, 500});
  document.connect(OutputPin{a, "INT"}, InputPin{far, "value"});
  reset_view();
  // Drag a box from empty canvas around a and b (not touching the far node).
  const ImVec2 from = screen({60, 60});
  const ImVec2 to = screen({700, 330});
  imgui.drag(from, to);
  frames(1);
  EXPECT_TRUE(document.is_selected(ItemRef::node(a)));
  EXPECT_TRUE(document.is_selected(ItemRef::node(b)));
  EXPECT_FALSE(document.is_selected(ItemRef::node(far)));

  imgui.key(keys::kDelete);
  frames(1);
  EXPECT_EQ(document.nodes().size(), 1u);
  EXPECT_NE(document.node(far), nullptr);
  EXPECT_FALSE(document.is_connected(InputPin{far, "value"}));
  // One undo brings both back with the wire.
  imgui.key(keys::letter('Z'), true);
  EXPECT_EQ(document.nodes().size(), 3u);
  EXPECT_TRUE(document.is_connected(InputPin{far, "value"}));
  // Redo with Ctrl+Shift+Z and with Ctrl+Y.
  imgui.key(keys::letter('Z'), true, true);
  EXPECT_EQ(document.nodes().size(), 1u);
  imgui.key(keys::letter('Z'), true);
  imgui.key(keys::letter('Y'), true);
  EXPECT_EQ(document.nodes().size(), 1u);
}

TEST_F(Editing, ClickShiftClickAndDragMoveTheSelection) {
  const std::string a = document.add_node("IntMath", {100, 100});
  const std::string b = document.add_node("IntMath", {500, 100});
  reset_view();
  imgui.click(title(a));
  EXPECT_EQ(document.selection().size(), 1u);
  imgui.modifiers(false, /*shift=*/true);
  imgui.click(title(b));
  imgui.modifiers(false, false);
  EXPECT_TRUE(document.is_selected(ItemRef::node(a)));
  EXPECT_TRUE(document.is_selected(ItemRef::node(b)));

  const Vec2 a0 = document.node(a)->pos, b0 = document.node(b)->pos;
  const std::size_t steps = document.undo_steps();
  imgui.drag(title(a), {title(a).x + 100, title(a).y + 50}, 0, 10);
  EXPECT_NEAR(document.node(a)->pos.x - a0.x, 100.0f, 0.5f);
  EXPECT_NEAR(document.node(a)->pos.y - a0.y, 50.0f, 0.5f);
  EXPECT_NEAR(document.node(b)->pos.x - b0.x, 100.0f, 0.5f);
  EXPECT_EQ(document.undo_steps(), steps + 1) << "one drag is one undo step";
  // Clicking empty canvas clears the selection.
  imgui.click(screen({300, 600}));
  EXPECT_TRUE(document.selection().empty());
}

TEST_F(Editing, DroppingAWireOnEmptyCanvasSearchesCompatibleNodesAndWiresTheNewOne) {
  const std::string math = document.add_node("IntMath", {100, 100});
  reset_view();
  const ImVec2 drop = screen({700, 200});
  imgui.drag(pin(math, "INT", true), drop);
  frames(2);
  ASSERT_TRUE(editor.state().palette.open);
  ASSERT_TRUE(editor.state().palette.filter.has_value());
  // Filtered: a STRING-only node is not offered, a node taking INT is.
  const auto hits = editor.state().search->find("", editor.state().palette.filter);
  EXPECT_TRUE(std::any_of(hits.begin(), hits.end(), [](const SearchHit& h) { return h.type == "Display"; }));
  EXPECT_FALSE(std::any_of(hits.begin(), hits.end(), [](const SearchHit& h) { return h.type == "StringConcat"; }));
  imgui.type("Display");
  imgui.key(keys::kEnter);
  frames(1);
  const std::string display = node_of_type("Display");
  EXPECT_EQ(document.source_of(InputPin{display, "value"}), (OutputPin{math, "INT"}));
  EXPECT_EQ(document.undo_label().empty(), false);
  document.undo();  // one step removes node and wire
  EXPECT_EQ(document.nodes().size(), 1u);
}

TEST_F(Editing, IncompatiblePinsRefuseTheWireAndDraggingOffAnInputRemovesIt) {
  const std::string math = document.add_node("IntMath", {100, 100});
  const std::string concat = document.add_node("StringConcat", {500, 100});
  const std::string display = document.add_node("Display", {500, 400});
  reset_view();
  // INT output onto a STRING input: refused, and said why.
  imgui.press(pin(math, "INT", true));
  imgui.move(pin(concat, "a", false));
  ASSERT_TRUE(editor.state().wire.has_value());
  const auto& checks = editor.state().wire->checks;
  auto it = checks.find(pin_key(concat, "a", false));
  ASSERT_NE(it, checks.end()) << "the STRING pin was not checked while dragging";
  EXPECT_FALSE(it->second.ok);
  EXPECT_FALSE(it->second.reason.empty());
  imgui.release();
  EXPECT_FALSE(document.is_connected(InputPin{concat, "a"}));

  // A wire into Display: pick it up at the input and drop it on nothing.
  imgui.drag(pin(math, "INT", true), pin(display, "value", false));
  ASSERT_TRUE(document.is_connected(InputPin{display, "value"}));
  imgui.drag(pin(display, "value", false), screen({900, 650}));
  frames(1);
  EXPECT_FALSE(document.is_connected(InputPin{display, "value"}));
  EXPECT_FALSE(editor.state().palette.open) << "a removed wire does not open the palette";
}

TEST_F(Editing, DoubleClickOnAWireAddsARerouteKeepingTheLink) {
  const std::string math = document.add_node("IntMath", {100, 100});
  const std::string display = document.add_node("Display", {700, 100});
  document.connect(OutputPin{math, "INT"}, InputPin{display, "value"});
  reset_view();
  const ImVec2 a = pin(math, "INT", true), b = pin(display, "value", false);
  const ImVec2 middle = wire_point(a, b, 0.5f, editor.view().zoom);
  imgui.double_click(middle);
  frames(1);
  ASSERT_EQ(document.reroutes().size(), 1u);
  // The engine link is unchanged; the drawn wire now passes through the reroute.
  const Graph graph = document.to_graph();
  EXPECT_EQ(std::get<Link>(graph.find(display)->inputs.at("value")), (Link{math, "INT"}));
  EXPECT_EQ(document.source_of(InputPin{display, "value"})->item, document.reroutes().begin()->first);
}

TEST_F(Editing, CopyPasteGoesThroughTheClipboardAndDuplicateCopiesInPlace) {
  const std::string math = document.add_node("IntMath", {100, 100});
  document.set_literal(math, "b", std::int64_t{5});
  reset_view();
  imgui.click(title(math));
  imgui.key(keys::letter('C'), true);
  const std::string clipboard = ImGui::GetClipboardText();
  EXPECT_NE(clipboard.find("diffgraph/1"), std::string::npos);
  EXPECT_NO_THROW(nlohmann::json::parse(clipboard));
  // Paste at the mouse.
  imgui.move(screen({600, 400}));
  imgui.key(keys::letter('V'), true);
  ASSERT_EQ(document.nodes().size(), 2u);
  for (const auto& [id, node] : document.nodes()) {
    EXPECT_EQ(document.input_literal(id, "b"), Literal{std::int64_t{5}});
    if (id != math) {
      EXPECT_NEAR(node.pos.x, 600.0f, 0.5f);
      EXPECT_NEAR(node.pos.y, 400.0f, 0.5f);
    }
  }
  // Something else on the clipboard is ignored with a message, not a crash.
  ImGui::SetClipboardText("not a workflow");
  imgui.key(keys::letter('V'), true);
  EXPECT_EQ(document.nodes().size(), 2u);
  EXPECT_TRUE(editor.state().status_is_error);
  // Ctrl+D duplicates the selection (the pasted node).
  imgui.key(keys::letter('D'), true);
  EXPECT_EQ(document.nodes().size(), 3u);
}

TEST_F(Editing, BypassCollapseAndGroupFromTheKeyboard) {
  const std::string math = document.add_node("IntMath", {100, 100});
  reset_view();
  imgui.click(title(math));
  imgui.key(keys::letter('B'), true);
  EXPECT_TRUE(document.node(math)->bypass);
  imgui.key(keys::letter('C'), false, false, /*alt=*/true);
  EXPECT_TRUE(document.node(math)->collapsed);
  frames(1);
  EXPECT_NEAR(report().node(math)->rect.height(), theme::kTitleHeight * editor.view().zoom, 0.5f);
  imgui.key(keys::letter('G'), true);
  ASSERT_EQ(document.groups().size(), 1u);
  EXPECT_TRUE(document.groups().begin()->second.rect.contains(Rect{document.node(math)->pos, {10, 10}}));
}

TEST_F(Editing, NotesAreEditedInPlace) {
  const std::string note = document.add_note({{100, 100}, {260, 120}}, "");
  reset_view();
  imgui.click(screen({200, 170}));
  frames(1);
  imgui.type("remember the seed");
  imgui.click(screen({700, 600}));  // elsewhere: done editing
  EXPECT_EQ(document.note(note)->text, "remember the seed");
  // Typing was one undo step.
  document.undo();
  EXPECT_EQ(document.note(note)->text, "");
  // Dragging the note's top strip moves it.
  imgui.drag(screen({200, 105}), screen({300, 205}));
  EXPECT_NEAR(document.note(note)->rect.pos.x, 200.0f, 0.5f);
}

TEST_F(Editing, RunningFromTheKeyboardShowsNodeStates) {
  const std::string math = document.add_node("IntMath", {100, 100});
  const std::string display = document.add_node("Display", {500, 100});
  document.set_literal(math, "a", std::int64_t{40});
  document.set_literal(math, "b", std::int64_t{2});
  document.connect(OutputPin{math, "INT"}, InputPin{display, "value"});
  reset_view();
  imgui.key(keys::kEnter, /*ctrl=*/true);
  ASSERT_TRUE(session.wait(std::chrono::seconds(30)));
  frames(1);
  EXPECT_EQ(session.last_report().phase, RunPhase::Finished);
  EXPECT_EQ(editor.state().statuses.at(display).state, NodeRunState::Done);
  // A failing node shows its error: divide by zero.
  document.set_literal(math, "op", std::string("divide"));
  document.set_literal(math, "b", std::int64_t{0});
  imgui.key(keys::kEnter, true);
  ASSERT_TRUE(session.wait(std::chrono::seconds(30)));
  frames(1);
  EXPECT_EQ(session.last_report().phase, RunPhase::Failed);
  EXPECT_EQ(editor.state().statuses.at(math).state, NodeRunState::Failed);
  EXPECT_NE(editor.state().statuses.at(math).message.find("zero"), std::string::npos);
  // A graph that does not validate does not run; the offending node carries the problem.
  document.set_literal(math, "op", std::string("nonsense"));
  imgui.key(keys::kEnter, true);
  frames(1);
  EXPECT_FALSE(session.running());
  EXPECT_EQ(session.last_report().phase, RunPhase::Invalid);
  EXPECT_FALSE(editor.state().statuses.at(math).problems.empty());
  EXPECT_TRUE(editor.state().status_is_error);
}

TEST_F(Editing, ReloadingPluginsKeepsTheGraphAndRebuildsTheSearch) {
  const std::string math = document.add_node("IntMath", {100, 100});
  reset_view();
  const int generation = plugins.generation();
  imgui.key(keys::letter('R'), /*ctrl=*/true, /*shift=*/true);
  frames(1);
  EXPECT_EQ(plugins.generation(), generation + 1);
  EXPECT_EQ(document.registry(), plugins.registry());
  EXPECT_FALSE(document.is_missing(math));
  EXPECT_FALSE(editor.state().search->find("IntMath").empty());
  EXPECT_NE(report().node(math), nullptr);
}

TEST_F(Editing, ClosingWithUnsavedChangesAsksFirst) {
  document.add_node("IntMath", {100, 100});
  ASSERT_TRUE(document.dirty());
  editor.request_close();
  frames(2);
  EXPECT_FALSE(editor.should_quit());
  ImGuiWindow* prompt = ImGui::FindWindowByName("Unsaved changes");
  ASSERT_NE(prompt, nullptr);
  EXPECT_TRUE(prompt->Active);
  imgui.key(keys::kEscape);  // Cancel
  frames(1);
  EXPECT_FALSE(editor.should_quit());
  EXPECT_FALSE(prompt->Active);
  editor.request_close();
  frames(2);
  // "Don't save" is the middle one of three 110-pixel buttons at the bottom of the prompt.
  const ImGuiStyle& style = ImGui::GetStyle();
  const ImVec2 button{prompt->Pos.x + style.WindowPadding.x + 110 + style.ItemSpacing.x + 55,
                      prompt->Pos.y + prompt->Size.y - style.WindowPadding.y - 6};
  imgui.click(button);
  frames(1);
  EXPECT_TRUE(editor.should_quit());

  // A clean document closes at once.
  document.clear();
  editor.state().quit = false;
  editor.request_close();
  EXPECT_TRUE(editor.should_quit());
}

TEST_F(Editing, DroppedWorkflowFilesOpen) {
  const fs::path file = dir / "dropped.json";
  Document other(plugins.registry());
  other.add_node("Display", {10, 20});
  other.save_as(file);
  editor.drop_files({(dir / "notes.txt").string(), file.string()});
  frames(1);
  EXPECT_EQ(document.path(), file);
  EXPECT_EQ(document.nodes().size(), 1u);
}

TEST(Shortcuts, DocsListEveryShortcut) {
  const std::string docs = read_text(fs::path(DIFFGRAPH_SOURCE_DIR) / "docs" / "editor.md");
  ASSERT_FALSE(docs.empty()) << "docs/editor.md is missing";
  for (const Shortcut& shortcut : kShortcuts)
    EXPECT_NE(docs.find(std::string("| ") + shortcut.keys + " |"), std::string::npos) << shortcut.keys;
}

}  // namespace
}  // namespace diffgraph::editor::ui::testing
