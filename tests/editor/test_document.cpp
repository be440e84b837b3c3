// The document: load/save round trips, every edit command undone and redone exactly, merged
// drags, the dirty flag, wiring rules, reroutes, the clipboard and missing node types.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "editor_test_nodes.hpp"

using namespace diffgraph;
using namespace diffgraph::editor;
using namespace diffgraph::editor::testing;
using nlohmann::json;

namespace {

// Number(1)=3 → Add(2).a, b=4 → (reroute 10) → Show(3); Number(4)=5 → ToText(5) → Show(6);
// a group around 1 and 2, a note, a view and an editor key this version does not know.
const char* kBase = R"({
  "format": "diffgraph/1",
  "nodes": {
    "1": {"type": "Number", "inputs": {"value": 3}, "editor": {"pos": [0, 0]}},
    "2": {"type": "Add", "inputs": {"a": {"node": "1", "output": "INT"}, "b": 4, "scale": 1.0},
          "editor": {"pos": [300, 0], "custom": "kept"}},
    "3": {"type": "Show", "inputs": {"value": {"node": "2", "output": "INT"}},
          "editor": {"pos": [600, 0], "via": {"value": "10"}}},
    "4": {"type": "Number", "inputs": {"value": 5}, "editor": {"pos": [0, 200]}},
    "5": {"type": "ToText", "inputs": {"value": {"node": "4", "output": "INT"}, "prefix": "n="},
          "editor": {"pos": [300, 200]}},
    "6": {"type": "Show", "inputs": {"value": {"node": "5", "output": "STRING"}}, "editor": {"pos": [600, 200]}}
  },
  "editor": {
    "reroutes": {"10": {"pos": [450, 40], "from": {"node": "2", "output": "INT"}}},
    "groups": [{"title": "math", "rect": [-20, -60, 560, 200]}],
    "notes": [{"text": "hello", "rect": [0, 400, 200, 100]}],
    "view": {"offset": [10, 20], "zoom": 1.5},
    "theme": "dark"
  }
})";

std::string canonical(const std::string& text) { return serialize_graph(parse_graph(text)); }

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class DocumentTest : public ::testing::Test {
 protected:
  void SetUp() override { doc.load(parse_graph(kBase)); }

  std::string group_id() const { return doc.groups().begin()->first; }
  std::string note_id() const { return doc.notes().begin()->first; }
  Link link_of(const std::string& node, const std::string& input) const {
    return std::get<Link>(doc.node(node)->inputs.at(input));
  }

  TestNodes nodes;
  std::shared_ptr<Registry> registry = nodes.make_registry();
  Document doc{registry};
};

}  // namespace

// ------------------------------------------------------------------ files

TEST_F(DocumentTest, LoadThenSaveGivesTheCanonicalTextWithEditorDataKept) {
  EXPECT_EQ(doc.to_json(), canonical(kBase));
  EXPECT_FALSE(doc.dirty());
  EXPECT_EQ(doc.node("2")->extra.at("custom"), "kept");
  EXPECT_EQ(doc.extra().at("theme"), "dark");
  EXPECT_EQ(doc.view(), (ViewState{{10, 20}, 1.5f}));
  ASSERT_EQ(doc.groups().size(), 1u);
  EXPECT_EQ(doc.groups().begin()->second.title, "math");
  EXPECT_EQ(doc.notes().begin()->second.text, "hello");
  EXPECT_EQ(doc.node("3")->via.at("value"), "10");
  // Ids are unique across kinds: the group and note got fresh ones.
  EXPECT_FALSE(doc.node(group_id()));
  EXPECT_NE(group_id(), note_id());
}

TEST(DocumentFiles, EveryShippedGraphRoundTripsAndCanonicalOnesAreByteIdentical) {
  int byte_identical = 0, files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DIFFGRAPH_GRAPHS_DIR)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const std::string text = read_text(entry.path());
    Document doc;
    doc.open(entry.path());
    EXPECT_EQ(doc.path(), std::filesystem::absolute(entry.path()));
    // Saving writes what the engine writes for the same graph: nothing added, nothing lost.
    EXPECT_EQ(doc.to_json(), serialize_graph(load_graph(entry.path()))) << entry.path();
    if (text == serialize_graph(load_graph(entry.path()))) {
      ++byte_identical;
      TempDir dir;
      doc.save_as(dir / "copy.json");
      EXPECT_EQ(read_text(dir / "copy.json"), text) << entry.path();
      EXPECT_FALSE(doc.dirty());
    }
  }
  EXPECT_GE(files, 6);
  EXPECT_GE(byte_identical, 4);  // the others are hand-formatted; they round-trip to canonical text
}

TEST_F(DocumentTest, SaveRequiresAPathAndSaveAsSetsIt) {
  Document untitled{registry};
  EXPECT_THROW(untitled.save(), Error);
  EXPECT_EQ(untitled.title(), "Untitled");
  TempDir dir;
  doc.move({ItemRef::node("1")}, {10, 0});
  EXPECT_EQ(doc.title(), "Untitled*");
  doc.save_as(dir / "graph.json");
  EXPECT_EQ(doc.title(), "graph.json");
  EXPECT_FALSE(doc.dirty());
  EXPECT_EQ(read_text(dir / "graph.json"), doc.to_json());
  // The saved file is what the engine (and so the CLI) reads.
  EXPECT_EQ(serialize_graph(load_graph(dir / "graph.json")), doc.to_json());
  doc.set_literal("1", "value", std::int64_t{8});
  doc.save();
  EXPECT_EQ(std::get<std::int64_t>(std::get<Literal>(load_graph(dir / "graph.json").nodes.at("1").inputs.at("value"))), 8);
}

TEST(DocumentFiles, NodesWithoutPositionsAreLaidOutByDepth) {
  Document doc;
  doc.load(parse_graph(R"({"format": "diffgraph/1", "nodes": {
      "a": {"type": "Number"}, "b": {"type": "Add", "inputs": {"a": {"node": "a", "output": "INT"}}}}})"));
  EXPECT_LT(doc.node("a")->pos.x, doc.node("b")->pos.x);
  EXPECT_FALSE(doc.node("a")->placed);
  // The automatic position is not written until the node is moved.
  EXPECT_FALSE(parse_graph(doc.to_json()).nodes.at("a").editor.contains("pos"));
  doc.move({ItemRef::node("a")}, {0, 10});
  EXPECT_TRUE(parse_graph(doc.to_json()).nodes.at("a").editor.contains("pos"));
  EXPECT_EQ(doc.missing_nodes(), (std::vector<std::string>{"a", "b"}));  // no registry: all missing
}

// ------------------------------------------------------------------ undo / redo of every command

struct Command {
  std::string name;
  std::function<void(Document&)> run;
};

class EveryCommand : public DocumentTest, public ::testing::WithParamInterface<Command> {};

TEST_P(EveryCommand, UndoAndRedoRestoreTheExactJson) {
  const std::string before = doc.to_json();
  GetParam().run(doc);
  const std::string after = doc.to_json();
  ASSERT_NE(before, after) << GetParam().name << " changed nothing";
  EXPECT_TRUE(doc.dirty());
  ASSERT_EQ(doc.undo_steps(), 1u) << GetParam().name << " must be one undo step";
  EXPECT_FALSE(doc.undo_label().empty());
  ASSERT_TRUE(doc.undo());
  EXPECT_EQ(doc.to_json(), before);
  EXPECT_FALSE(doc.dirty());
  ASSERT_TRUE(doc.redo());
  EXPECT_EQ(doc.to_json(), after);
  EXPECT_TRUE(doc.dirty());
  ASSERT_TRUE(doc.undo());
  EXPECT_EQ(doc.to_json(), before);
  // The engine still reads every intermediate document.
  EXPECT_NO_THROW(parse_graph(after));
}

INSTANTIATE_TEST_SUITE_P(
    Document, EveryCommand,
    ::testing::Values(
        Command{"add_node", [](Document& d) { d.add_node("Add", {100, 500}); }},
        Command{"add_node_connected_from_output",
                [](Document& d) { d.add_node_connected("ToText", {900, 0}, OutputPin{"1", "INT"}, std::nullopt); }},
        Command{"add_node_connected_to_input",
                [](Document& d) { d.add_node_connected("Number", {0, -200}, std::nullopt, InputPin{"2", "b"}); }},
        Command{"remove_wired_node", [](Document& d) { d.remove({ItemRef::node("2")}); }},
        Command{"remove_reroute", [](Document& d) { d.remove({ItemRef::reroute("10")}); }},
        Command{"remove_group_and_note",
                [](Document& d) {
                  d.remove({ItemRef::group(d.groups().begin()->first), ItemRef::note(d.notes().begin()->first)});
                }},
        Command{"move_everything",
                [](Document& d) {
                  d.move({ItemRef::node("1"), ItemRef::node("4"), ItemRef::reroute("10"),
                          ItemRef::note(d.notes().begin()->first), ItemRef::group(d.groups().begin()->first)},
                         {12.5f, -7});
                }},
        Command{"set_position", [](Document& d) { d.set_position(ItemRef::node("6"), {640, 260}); }},
        Command{"set_node_size", [](Document& d) { d.set_node_size("2", Vec2{300, 180}); }},
        Command{"connect_replaces_occupied_input", [](Document& d) { ASSERT_TRUE(d.connect({"4", "INT"}, {"2", "a"})); }},
        Command{"connect_replaces_literal", [](Document& d) { ASSERT_TRUE(d.connect({"4", "INT"}, {"2", "b"})); }},
        Command{"connect_into_reroute", [](Document& d) { ASSERT_TRUE(d.connect({"1", "INT"}, {"10", ""})); }},
        Command{"connect_from_reroute", [](Document& d) { ASSERT_TRUE(d.connect({"10", ""}, {"6", "value"})); }},
        Command{"disconnect", [](Document& d) { ASSERT_TRUE(d.disconnect({"2", "a"})); }},
        Command{"disconnect_reroute_input", [](Document& d) { ASSERT_TRUE(d.disconnect({"10", ""})); }},
        Command{"disconnect_all", [](Document& d) { ASSERT_EQ(d.disconnect_all({"2", "INT"}), 1u); }},
        Command{"set_literal", [](Document& d) { d.set_literal("2", "b", std::int64_t{9}); }},
        Command{"set_literal_over_link", [](Document& d) { d.set_literal("5", "prefix", std::string("value: ")); }},
        Command{"reset_input", [](Document& d) { d.reset_input("2", "b"); }},
        Command{"collapse", [](Document& d) { d.set_collapsed({"1", "2"}, true); }},
        Command{"bypass", [](Document& d) { d.set_bypass({"5"}, true); }},
        Command{"toggle_bypass", [](Document& d) { d.toggle_bypass({"2", "5"}); }},
        Command{"node_title", [](Document& d) { d.set_title(ItemRef::node("2"), "Sum"); }},
        Command{"group_title", [](Document& d) { d.set_title(ItemRef::group(d.groups().begin()->first), "renamed"); }},
        Command{"colours",
                [](Document& d) {
                  d.set_color({ItemRef::node("1"), ItemRef::group(d.groups().begin()->first),
                               ItemRef::note(d.notes().begin()->first)},
                              Color{10, 20, 30, 128});
                }},
        Command{"add_reroute", [](Document& d) { d.add_reroute({150, 100}, OutputPin{"4", "INT"}); }},
        Command{"insert_reroute", [](Document& d) { d.insert_reroute({"5", "value"}, {150, 220}); }},
        Command{"add_note", [](Document& d) { d.add_note({{0, 600}, {100, 50}}, "remember"); }},
        Command{"set_note_text", [](Document& d) { d.set_note_text(d.notes().begin()->first, "changed"); }},
        Command{"resize_note", [](Document& d) { d.set_rect(ItemRef::note(d.notes().begin()->first), {{0, 400}, {300, 90}}); }},
        Command{"resize_group", [](Document& d) { d.set_rect(ItemRef::group(d.groups().begin()->first), {{-40, -60}, {700, 260}}); }},
        Command{"add_group", [](Document& d) { d.add_group("new", {{0, 700}, {200, 200}}); }},
        Command{"add_group_around", [](Document& d) { d.add_group_around({ItemRef::node("4"), ItemRef::node("5")}, "text"); }},
        Command{"paste",
                [](Document& d) { d.paste(d.copy({ItemRef::node("1"), ItemRef::node("2")}), PasteOptions{Vec2{0, 900}}); }},
        Command{"duplicate", [](Document& d) { d.duplicate({ItemRef::node("4"), ItemRef::node("5"), ItemRef::reroute("10")}); }},
        Command{"edit_group",
                [](Document& d) {
                  Document::EditGroup group(d, "add and wire");
                  const std::string id = d.add_node("Add", {900, 400});
                  d.connect({"4", "INT"}, {id, "a"});
                  d.set_literal(id, "b", std::int64_t{2});
                }}),
    [](const ::testing::TestParamInfo<Command>& info) { return info.param.name; });

TEST_F(DocumentTest, AllCommandsInARowUndoBackToTheStartAndRedoToTheEnd) {
  const std::string start = doc.to_json();
  std::vector<std::string> states{start};
  auto step = [&](const std::function<void()>& edit) {
    edit();
    states.push_back(doc.to_json());
  };
  std::string added;
  step([&] { added = doc.add_node("Add", {0, 600}); });
  step([&] { doc.connect({"1", "INT"}, {added, "a"}); });
  step([&] { doc.insert_reroute({added, "a"}, {100, 500}); });
  step([&] { doc.set_bypass({added}, true); });
  step([&] { doc.duplicate({ItemRef::node(added), ItemRef::node("1")}); });
  step([&] { doc.remove({ItemRef::node("1")}); });
  step([&] { doc.remove({ItemRef::reroute("10")}); });
  step([&] { doc.set_literal("4", "value", std::int64_t{-3}); });
  ASSERT_EQ(doc.undo_steps(), states.size() - 1);
  for (std::size_t i = states.size() - 1; i-- > 0;) {
    ASSERT_TRUE(doc.undo());
    ASSERT_EQ(doc.to_json(), states[i]) << "after undoing step " << i + 1;
  }
  EXPECT_FALSE(doc.can_undo());
  EXPECT_FALSE(doc.dirty());
  for (std::size_t i = 1; i < states.size(); ++i) {
    ASSERT_TRUE(doc.redo());
    ASSERT_EQ(doc.to_json(), states[i]);
  }
}

TEST_F(DocumentTest, ADragIsOneUndoStepAndANewGestureIsAnother) {
  const std::string start = doc.to_json();
  for (int i = 0; i < 10; ++i) doc.move({ItemRef::node("1"), ItemRef::node("2")}, {1, 2}, /*merge=*/42);
  EXPECT_EQ(doc.undo_steps(), 1u);
  EXPECT_EQ(doc.node("1")->pos, (Vec2{10, 20}));
  doc.end_merge();
  doc.move({ItemRef::node("1")}, {1, 0}, 42);
  EXPECT_EQ(doc.undo_steps(), 2u);
  doc.undo();
  doc.undo();
  EXPECT_EQ(doc.to_json(), start);
  EXPECT_FALSE(doc.dirty());
  // A drag that returns to where it started leaves no step.
  doc.move({ItemRef::node("1")}, {5, 5}, 7);
  doc.move({ItemRef::node("1")}, {-5, -5}, 7);
  EXPECT_FALSE(doc.can_undo());
  EXPECT_FALSE(doc.dirty());
  // Slider drags merge the same way.
  doc.end_merge();
  for (std::int64_t v = 4; v < 9; ++v) doc.set_literal("2", "b", v, 99);
  EXPECT_EQ(doc.undo_steps(), 1u);
}

TEST_F(DocumentTest, DirtyFollowsTheSavedStateThroughUndoAndRedo) {
  EXPECT_FALSE(doc.dirty());
  doc.move({ItemRef::node("1")}, {1, 0}, 5);
  EXPECT_TRUE(doc.dirty());
  doc.mark_saved();
  EXPECT_FALSE(doc.dirty());
  // The same gesture continuing after a save starts a new step, so undo returns to the save.
  doc.move({ItemRef::node("1")}, {1, 0}, 5);
  EXPECT_TRUE(doc.dirty());
  doc.undo();
  EXPECT_FALSE(doc.dirty());
  doc.undo();
  EXPECT_TRUE(doc.dirty());
  doc.redo();
  EXPECT_FALSE(doc.dirty());
  // Pan, zoom and selection are not edits.
  doc.set_view({{100, 100}, 2});
  doc.select_all();
  EXPECT_FALSE(doc.dirty());
  // A restored backup is dirty.
  Document restored{registry};
  restored.load(doc.to_graph(), "/tmp/x.json", /*dirty=*/true);
  EXPECT_TRUE(restored.dirty());
  EXPECT_EQ(restored.title(), "x.json*");
}

TEST_F(DocumentTest, ACommandThatFailsChangesNothing) {
  const std::string before = doc.to_json();
  EXPECT_THROW(doc.add_node("NoSuchType", {0, 0}), EditError);
  EXPECT_THROW(doc.set_literal("2", "a", std::int64_t{1}), EditError);  // a link-only input
  EXPECT_THROW(doc.set_literal("2", "nope", std::int64_t{1}), EditError);
  EXPECT_THROW(doc.remove({ItemRef::node("99")}), EditError);
  EXPECT_THROW(doc.insert_reroute({"1", "value"}, {0, 0}), EditError);
  EXPECT_FALSE(doc.connect({"5", "STRING"}, {"2", "a"}));
  try {
    Document::EditGroup group(doc, "half done");
    doc.add_node("Add", {0, 0});
    throw std::runtime_error("stop");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(doc.to_json(), before);
  EXPECT_FALSE(doc.can_undo());
}

// ------------------------------------------------------------------ wiring

TEST_F(DocumentTest, ConnectionsAreTypeChecked) {
  auto check = doc.check_connection({"5", "STRING"}, {"2", "a"});
  EXPECT_FALSE(check);
  EXPECT_NE(check.reason.find("does not accept STRING"), std::string::npos) << check.reason;
  EXPECT_TRUE(doc.check_connection({"4", "INT"}, {"2", "a"}));
  EXPECT_TRUE(doc.check_connection({"5", "STRING"}, {"3", "value"}));  // "*" accepts anything
  EXPECT_FALSE(doc.check_connection({"2", "INT"}, {"2", "a"}));        // itself
  EXPECT_NE(doc.check_connection({"2", "INT"}, {"1", "value"}).reason.find("cycle"), std::string::npos);
  EXPECT_FALSE(doc.check_connection({"1", "NOPE"}, {"2", "a"}));
  EXPECT_FALSE(doc.check_connection({"1", "INT"}, {"2", "nope"}));
  // A reroute takes any type, but not one its downstream inputs refuse.
  const std::string r = doc.add_reroute({0, 0}, OutputPin{"4", "INT"});
  ASSERT_TRUE(doc.connect({r, ""}, {"2", "b"}));
  EXPECT_FALSE(doc.check_connection({"5", "STRING"}, {r, ""}));
  EXPECT_TRUE(doc.check_connection({"1", "INT"}, {r, ""}));
  EXPECT_FALSE(doc.check_connection({r, ""}, {r, ""}));  // a loop of reroutes
  EXPECT_EQ(doc.output_type({r, ""}), "INT");
  EXPECT_EQ(doc.input_type({"2", "a"}), "INT");
}

TEST_F(DocumentTest, ConnectingToAnOccupiedInputReplacesItsWire) {
  ASSERT_TRUE(doc.connect({"4", "INT"}, {"3", "value"}));
  EXPECT_EQ(link_of("3", "value"), (Link{"4", "INT"}));
  EXPECT_FALSE(doc.node("3")->via.count("value"));  // the reroute no longer feeds it
  EXPECT_EQ(doc.source_of({"3", "value"}), (OutputPin{"4", "INT"}));
  // Disconnecting a widget input brings its default back.
  ASSERT_TRUE(doc.connect({"4", "INT"}, {"2", "b"}));
  ASSERT_TRUE(doc.disconnect({"2", "b"}));
  EXPECT_EQ(std::get<std::int64_t>(std::get<Literal>(doc.node("2")->inputs.at("b"))), 0);
  EXPECT_FALSE(doc.disconnect({"2", "b"}));
}

TEST_F(DocumentTest, ReroutesKeepTheEngineLinkDirect) {
  // The file stores the direct link; the reroute is drawing only.
  EXPECT_EQ(link_of("3", "value"), (Link{"2", "INT"}));
  const auto wires = doc.wires();
  EXPECT_NE(std::find(wires.begin(), wires.end(), Wire{{"2", "INT"}, {"10", ""}, "INT"}), wires.end());
  EXPECT_NE(std::find(wires.begin(), wires.end(), Wire{{"10", ""}, {"3", "value"}, "INT"}), wires.end());
  EXPECT_EQ(std::find(wires.begin(), wires.end(), Wire{{"2", "INT"}, {"3", "value"}, "INT"}), wires.end());
  EXPECT_EQ(doc.targets_of({"10", ""}), (std::vector<InputPin>{{"3", "value"}}));

  // Chains and fan-out: 10 → r2 → 6.value.
  const std::string r2 = doc.add_reroute({500, 100}, OutputPin{"10", ""});
  ASSERT_TRUE(doc.connect({r2, ""}, {"6", "value"}));
  EXPECT_EQ(link_of("6", "value"), (Link{"2", "INT"}));
  // Feeding the first reroute from elsewhere rewires everything behind it.
  ASSERT_TRUE(doc.connect({"1", "INT"}, {"10", ""}));
  EXPECT_EQ(link_of("3", "value"), (Link{"1", "INT"}));
  EXPECT_EQ(link_of("6", "value"), (Link{"1", "INT"}));
  // Saved and loaded again, the wiring is the same.
  Document copy{registry};
  copy.load(parse_graph(doc.to_json()));
  EXPECT_EQ(copy.wires(), doc.wires());
  // A reroute without a source leaves the inputs behind it without a link (drawn, not run).
  ASSERT_TRUE(doc.disconnect({"10", ""}));
  EXPECT_FALSE(doc.node("3")->inputs.count("value"));
  EXPECT_EQ(doc.node("6")->via.at("value"), r2);
  EXPECT_EQ(doc.output_type({"10", ""}), "*");
  // Removing a reroute dissolves it: its inputs are fed by its source.
  ASSERT_TRUE(doc.connect({"4", "INT"}, {"10", ""}));
  doc.remove({ItemRef::reroute("10")});
  EXPECT_EQ(link_of("3", "value"), (Link{"4", "INT"}));
  EXPECT_EQ(doc.source_of({"3", "value"}), (OutputPin{"4", "INT"}));
  EXPECT_EQ(doc.source_of({r2, ""}), (OutputPin{"4", "INT"}));
  EXPECT_EQ(link_of("6", "value"), (Link{"4", "INT"}));
  // Removing the source node leaves the reroute unfed.
  doc.remove({ItemRef::node("4")});
  EXPECT_FALSE(doc.reroute(r2)->from);
  EXPECT_FALSE(doc.node("6")->inputs.count("value"));
  EXPECT_FALSE(doc.node("3")->inputs.count("value"));
}

TEST_F(DocumentTest, AViaThatNoLongerMatchesItsLinkIsDroppedOnLoad) {
  json j = json::parse(kBase);
  j["nodes"]["3"]["inputs"]["value"] = {{"node", "4"}, {"output", "INT"}};  // edited by hand
  doc.load(parse_graph(j.dump()));
  EXPECT_TRUE(doc.node("3")->via.empty());
  EXPECT_EQ(link_of("3", "value"), (Link{"4", "INT"}));
}

TEST_F(DocumentTest, AddNodeWritesWidgetDefaultsAndConnectsFromADroppedWire) {
  const std::string id = doc.add_node_connected("ToText", {900, 0}, OutputPin{"2", "INT"}, std::nullopt);
  EXPECT_EQ(link_of(id, "value"), (Link{"2", "INT"}));
  EXPECT_EQ(std::get<std::string>(std::get<Literal>(doc.node(id)->inputs.at("prefix"))), "");
  EXPECT_EQ(doc.undo_steps(), 1u);
  const std::string upstream = doc.add_node_connected("Number", {0, 0}, std::nullopt, InputPin{"5", "value"});
  EXPECT_EQ(link_of("5", "value"), (Link{upstream, "INT"}));
  EXPECT_EQ(std::get<std::int64_t>(doc.input_literal(upstream, "value")), 1);
  EXPECT_EQ(std::get<double>(doc.input_literal("2", "scale")), 1.0);
  doc.set_literal("2", "scale", std::int64_t{2});  // an INT given to a FLOAT input
  EXPECT_EQ(std::get<double>(doc.input_literal("2", "scale")), 2.0);
}

// ------------------------------------------------------------------ selection, geometry

TEST_F(DocumentTest, BoxSelectionGroupsAndBounds) {
  auto inside = doc.items_in_rect({{-10, -10}, {250, 150}});
  EXPECT_NE(std::find(inside.begin(), inside.end(), ItemRef::node("1")), inside.end());
  EXPECT_EQ(std::find(inside.begin(), inside.end(), ItemRef::node("4")), inside.end());
  // A box inside a group does not pick the group.
  EXPECT_EQ(std::find(inside.begin(), inside.end(), ItemRef::group(group_id())), inside.end());
  auto contents = doc.group_contents(group_id());
  EXPECT_NE(std::find(contents.begin(), contents.end(), ItemRef::node("1")), contents.end());
  EXPECT_NE(std::find(contents.begin(), contents.end(), ItemRef::node("2")), contents.end());
  EXPECT_EQ(std::find(contents.begin(), contents.end(), ItemRef::node("4")), contents.end());
  const std::string g = doc.add_group_around({ItemRef::node("4"), ItemRef::node("5")}, "text");
  auto in_new = doc.group_contents(g);
  EXPECT_EQ(in_new.size(), 2u);
  auto box = doc.bounds({ItemRef::node("1"), ItemRef::node("6")}, [](const DocNode&) { return Vec2{100, 50}; });
  ASSERT_TRUE(box);
  EXPECT_EQ(*box, (Rect{{0, 0}, {700, 250}}));
  doc.select(ItemRef::node("1"));
  doc.select(ItemRef::node("2"), true);
  EXPECT_EQ(doc.selection().size(), 2u);
  doc.remove({ItemRef::node("2")});
  EXPECT_EQ(doc.selected_items(), (std::vector<ItemRef>{ItemRef::node("1")}));
  doc.undo();
  doc.toggle_selected(ItemRef::node("1"));
  EXPECT_TRUE(doc.selection().empty());
}

// ------------------------------------------------------------------ clipboard

TEST_F(DocumentTest, CopyPasteBetweenTwoDocumentsKeepsInternalLinksAndDropsOutsideOnes) {
  const std::string text = doc.copy({ItemRef::node("4"), ItemRef::node("5"), ItemRef::node("6"), ItemRef::note(note_id())});
  // The clipboard is a diffgraph/1 fragment: the engine reads it.
  const Graph fragment = parse_graph(text);
  EXPECT_EQ(fragment.nodes.size(), 3u);

  Document other{registry};  // another editor window
  other.add_node("Number", {0, 0});
  other.add_node("Number", {0, 100});
  const auto pasted = other.paste(text, PasteOptions{Vec2{1000, 1000}});
  EXPECT_EQ(pasted.size(), 4u);
  EXPECT_EQ(other.nodes().size(), 5u);
  EXPECT_EQ(other.selected_items().size(), 4u);
  EXPECT_EQ(other.undo_steps(), 3u);  // two adds and one paste
  // New ids, internal links renamed with them, the top-left corner at the requested place.
  std::map<std::string, std::string> by_type_prefix;
  const DocNode* to_text = nullptr;
  const DocNode* show = nullptr;
  for (const auto& [id, n] : other.nodes()) {
    if (n.type == "ToText") to_text = &n;
    if (n.type == "Show") show = &n;
  }
  ASSERT_TRUE(to_text && show);
  EXPECT_NE(to_text->id, "5");
  const Link into_show = std::get<Link>(show->inputs.at("value"));
  EXPECT_EQ(into_show, (Link{to_text->id, "STRING"}));
  const Link into_text = std::get<Link>(to_text->inputs.at("value"));
  EXPECT_EQ(other.node(into_text.node)->type, "Number");
  EXPECT_NE(into_text.node, "1");
  EXPECT_EQ(other.node(into_text.node)->pos, (Vec2{1000, 1000}));
  EXPECT_EQ(other.notes().size(), 1u);
  EXPECT_TRUE(validate_graph(other.to_graph(), *registry).empty());

  // Copying 5 and 6 without their source: the link to 4 is dropped.
  Document third{registry};
  third.paste(doc.copy({ItemRef::node("5"), ItemRef::node("6")}));
  for (const auto& [id, n] : third.nodes()) {
    if (n.type != "ToText") continue;
    EXPECT_FALSE(n.inputs.count("value"));
  }
  EXPECT_THROW(third.paste("not a workflow"), GraphError);
  EXPECT_THROW(third.paste(R"({"format": "diffgraph/1", "nodes": {"1": {}}})"), GraphError);
}

TEST_F(DocumentTest, PasteWithOutsideLinksAndReroutesInsideTheSameDocument) {
  const std::string text = doc.copy({ItemRef::node("5")});
  auto kept = doc.paste(text, PasteOptions{std::nullopt, {0, 300}, /*keep_outside_links=*/true});
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(link_of(kept[0].id, "value"), (Link{"4", "INT"}));
  EXPECT_EQ(doc.node(kept[0].id)->pos, (Vec2{300, 500}));
  auto dropped = doc.paste(text);
  EXPECT_FALSE(doc.node(dropped[0].id)->inputs.count("value"));

  // Duplicating a node with the reroute in front of it keeps the wire through the new reroute.
  auto copies = doc.duplicate({ItemRef::node("2"), ItemRef::node("3"), ItemRef::reroute("10")});
  ASSERT_EQ(copies.size(), 3u);
  std::string new_add, new_show, new_reroute;
  for (const auto& item : copies) {
    if (item.kind == ItemKind::Reroute) new_reroute = item.id;
    else if (doc.node(item.id)->type == "Add") new_add = item.id;
    else new_show = item.id;
  }
  EXPECT_EQ(doc.node(new_show)->via.at("value"), new_reroute);
  EXPECT_EQ(link_of(new_show, "value"), (Link{new_add, "INT"}));
  EXPECT_FALSE(doc.node(new_add)->inputs.count("a"));  // Number 1 was not copied
}

// ------------------------------------------------------------------ missing node types

TEST_F(DocumentTest, NodesOfAMissingTypeAreKeptAndMarked) {
  json j = json::parse(kBase);
  j["nodes"]["7"] = {{"type", "GoneNode"}, {"inputs", {{"x", {{"node", "1"}, {"output", "INT"}}}, {"k", 3}}}};
  doc.load(parse_graph(j.dump()));
  EXPECT_TRUE(doc.is_missing("7"));
  EXPECT_FALSE(doc.is_missing("1"));
  EXPECT_EQ(doc.missing_nodes(), (std::vector<std::string>{"7"}));
  EXPECT_FALSE(doc.check_connection({"4", "INT"}, {"7", "x"}));
  EXPECT_EQ(doc.to_json(), canonical(j.dump()));
  // It can still be moved, copied and deleted.
  doc.move({ItemRef::node("7")}, {10, 10});
  EXPECT_EQ(doc.paste(doc.copy({ItemRef::node("7")})).size(), 1u);
  doc.remove({ItemRef::node("7")});
  doc.set_registry(nullptr);
  EXPECT_EQ(doc.missing_nodes().size(), doc.nodes().size());
}
