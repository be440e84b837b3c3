// The canvas view: transform, zoom around the cursor, panning, fit-to-view and the minimap,
// through the view's functions and through real frames fed with mouse input.
#include "ui_fixture.hpp"

namespace diffgraph::editor::ui::testing {
namespace {

void expect_near(ImVec2 a, ImVec2 b, float tolerance = 1e-3f) {
  EXPECT_NEAR(a.x, b.x, tolerance);
  EXPECT_NEAR(a.y, b.y, tolerance);
}

TEST(CanvasView, ScreenAndCanvasAreInverse) {
  CanvasView view;
  view.origin = {100, 50};
  view.size = {800, 600};
  view.scroll = {-30, 20};
  view.zoom = 1.7f;
  for (ImVec2 p : {ImVec2{0, 0}, ImVec2{123.5f, -77}, ImVec2{1e4f, 3e3f}}) expect_near(view.to_canvas(view.to_screen(p)), p, 1e-2f);
  expect_near(view.to_screen(view.scroll), view.origin);
}

TEST(CanvasView, ZoomKeepsThePointUnderTheCursor) {
  CanvasView view;
  view.origin = {270, 20};
  view.size = {1000, 700};
  view.scroll = {40, -10};
  const ImVec2 cursor{611, 333};
  const ImVec2 anchor = view.to_canvas(cursor);
  for (float zoom : {2.0f, 0.3f, 3.9f, 0.1f, 1.0f}) {
    view.zoom_at(cursor, zoom);
    expect_near(view.to_canvas(cursor), anchor, 1e-2f);
  }
  view.zoom_at(cursor, 100.0f);  // clamped
  EXPECT_FLOAT_EQ(view.zoom, CanvasView::kMaxZoom);
  expect_near(view.to_canvas(cursor), anchor, 1e-2f);
}

TEST(CanvasView, FitShowsTheWholeBoundsAndNeverZoomsPastOneToOne) {
  CanvasView view;
  view.origin = {0, 0};
  view.size = {1000, 500};
  const Box big{{-2000, 100}, {3000, 900}};
  view.fit(big, 40);
  const Box visible = view.visible();
  EXPECT_LE(visible.min.x, big.min.x);
  EXPECT_GE(visible.max.x, big.max.x);
  EXPECT_LE(visible.min.y, big.min.y);
  EXPECT_GE(visible.max.y, big.max.y);
  expect_near(view.to_screen(big.center()), {500, 250}, 0.1f);
  view.fit({{0, 0}, {100, 50}}, 40);
  EXPECT_FLOAT_EQ(view.zoom, 1.0f);
}

TEST(CanvasView, HiDpiScaleMultipliesThePixelZoom) {
  CanvasView view;
  view.ui_scale = 2.0f;
  view.size = {1000, 500};
  view.fit({{0, 0}, {100, 50}}, 0);
  EXPECT_FLOAT_EQ(view.zoom, 2.0f);  // 100 % on a 200 % screen
  EXPECT_FLOAT_EQ(view.user_zoom(), 1.0f);
  view.zoom_at({10, 10}, 100.0f);
  EXPECT_FLOAT_EQ(view.user_zoom(), CanvasView::kMaxZoom);
}

using CanvasInput = EditorFixture;

TEST_F(CanvasInput, WheelZoomKeepsTheCanvasPointUnderTheCursorFixed) {
  document.add_node("IntMath", {100, 100});
  document.mark_saved();
  editor.fit_view();
  frames(2);
  const ImVec2 cursor{700, 420};
  imgui.move(cursor);
  const ImVec2 before = editor.view().to_canvas(cursor);
  const float zoom_before = editor.view().zoom;
  imgui.wheel(cursor, 3);
  EXPECT_GT(editor.view().zoom, zoom_before * 1.4f);
  expect_near(editor.view().to_canvas(cursor), before, 0.01f);
  imgui.wheel(cursor, -5);
  EXPECT_LT(editor.view().zoom, zoom_before);
  expect_near(editor.view().to_canvas(cursor), before, 0.01f);
  // The view is saved with the document but is not an edit.
  EXPECT_FALSE(document.dirty());
  EXPECT_FLOAT_EQ(document.view().zoom, editor.view().user_zoom());
}

TEST_F(CanvasInput, MiddleDragAndSpaceDragPanWithTheMouse) {
  const std::string id = document.add_node("IntMath", {100, 100});
  reset_view();
  const Vec2 node_before = document.node(id)->pos;
  const std::size_t undo_steps = document.undo_steps();
  const ImVec2 start{800, 500};
  const ImVec2 grabbed = editor.view().to_canvas(start);
  imgui.drag(start, {650, 420}, /*button=*/2);
  // The canvas point grabbed stays under the mouse.
  expect_near(editor.view().to_canvas({650, 420}), grabbed, 0.01f);

  // Space + left drag pans too, even when starting on a node, and does not move the node.
  const ImVec2 on_node = title(id);
  const ImVec2 grabbed2 = editor.view().to_canvas(on_node);
  imgui.hold_key(keys::kSpace, true);
  imgui.drag(on_node, {on_node.x + 120, on_node.y + 60});
  imgui.hold_key(keys::kSpace, false);
  expect_near(editor.view().to_canvas({on_node.x + 120, on_node.y + 60}), grabbed2, 0.01f);
  EXPECT_EQ(document.node(id)->pos, node_before);
  EXPECT_EQ(document.undo_steps(), undo_steps);
}

TEST_F(CanvasInput, HomeFitsTheGraphInView) {
  document.add_node("IntMath", {-3000, -500});
  document.add_node("Display", {4000, 2500});
  reset_view();
  imgui.move({700, 400});
  imgui.key(keys::kHome);
  frames(1);
  ASSERT_EQ(report().nodes.size(), 2u);
  const Box canvas_area = editor.state().canvas_screen;
  for (const auto& node : report().nodes) {
    EXPECT_GE(node.rect.min.x, canvas_area.min.x) << node.id;
    EXPECT_LE(node.rect.max.x, canvas_area.max.x) << node.id;
    EXPECT_GE(node.rect.min.y, canvas_area.min.y) << node.id;
    EXPECT_LE(node.rect.max.y, canvas_area.max.y) << node.id;
  }
}

TEST_F(CanvasInput, ClickingTheMinimapCentresTheViewThere) {
  document.add_node("IntMath", {0, 0});
  document.add_node("Display", {5000, 3000});
  reset_view();
  const Box map = editor.state().minimap_screen;
  ASSERT_GT(map.width(), 0);
  imgui.click(map.center());
  frames(1);
  // The map's centre is the middle of the graph's bounds (plus symmetric padding).
  const ImVec2 centre = editor.view().to_canvas(editor.state().canvas_screen.center());
  EXPECT_NEAR(centre.x, (0 + 5000 + editor.state().layouts.at(node_of_type("Display")).rect.width()) * 0.5f, 150.0f);
  EXPECT_GT(centre.y, 1000.0f);
}

TEST_F(CanvasInput, ZoomedOutNodesDropTheirWidgets) {
  const std::string id = document.add_node("IntMath", {100, 100});
  reset_view();
  EXPECT_NE(report().widget(id, "a"), nullptr);
  editor.view().zoom_at({600, 400}, 0.3f);
  frames(1);
  EXPECT_EQ(report().widget(id, "a"), nullptr);
  EXPECT_NE(report().node(id), nullptr);  // still drawn, as a simple box
}

class HiDpiCanvas : public EditorFixture {
 protected:
  HiDpiCanvas() : EditorFixture(2.0f) {}
};

TEST_F(HiDpiCanvas, NodesAreTwiceAsLargeOnA200PercentScreen) {
  const std::string id = document.add_node("IntMath", {100, 100});
  reset_view();
  const FrameReport::Node* node = report().node(id);
  ASSERT_NE(node, nullptr);
  EXPECT_NEAR(node->rect.width(), 2 * theme::kNodeWidth, 0.5f);
  EXPECT_FLOAT_EQ(document.view().zoom, 1.0f);  // the file stores the user's zoom, not pixels
  EXPECT_GT(ImGui::GetIO().FontDefault->FontSize, 25.0f);  // the UI font is scaled too
}

}  // namespace
}  // namespace diffgraph::editor::ui::testing
