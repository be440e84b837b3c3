// The document ↔ the `diffgraph/1` graph: editor state read from and written to the "editor"
// objects (docs/workflow-format.md, "Editor data"). Keys this version does not know are kept;
// a known key in a shape it cannot read is kept verbatim too, unless the editor writes that
// key itself.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "document_impl.hpp"

namespace diffgraph::editor {

using nlohmann::json;

namespace {

std::optional<float> number(const json& value) {
  if (!value.is_number()) return std::nullopt;
  const double d = value.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return static_cast<float>(d);
}

// [x, y] or [x, y, w, h].
std::optional<std::vector<float>> numbers(const json& value, std::size_t count) {
  if (!value.is_array() || value.size() != count) return std::nullopt;
  std::vector<float> out;
  for (const auto& item : value) {
    auto n = number(item);
    if (!n) return std::nullopt;
    out.push_back(*n);
  }
  return out;
}

std::optional<Vec2> vec2(const json& value) {
  auto n = numbers(value, 2);
  if (!n) return std::nullopt;
  return Vec2{(*n)[0], (*n)[1]};
}

std::optional<Rect> rect(const json& value) {
  auto n = numbers(value, 4);
  if (!n) return std::nullopt;
  return Rect{{(*n)[0], (*n)[1]}, {(*n)[2], (*n)[3]}};
}

// Zoom keeps four decimals (1.1f would otherwise be written as 1.100000023841858).
json zoom_json(float zoom) {
  const double z = std::round(static_cast<double>(zoom) * 10000.0) / 10000.0;
  if (std::nearbyint(z) == z) return static_cast<std::int64_t>(z);
  return z;
}

json vec2_json(Vec2 v) { return json::array({coordinate_json(v.x), coordinate_json(v.y)}); }
json rect_json(const Rect& r) {
  return json::array({coordinate_json(r.pos.x), coordinate_json(r.pos.y), coordinate_json(r.size.x), coordinate_json(r.size.y)});
}

std::optional<OutputPin> pin_from_json(const json& value) {
  if (!value.is_object()) return std::nullopt;
  if (value.size() == 1 && value.contains("reroute") && value["reroute"].is_string())
    return OutputPin{value["reroute"].get<std::string>(), ""};
  if (value.size() == 2 && value.contains("node") && value.contains("output") && value["node"].is_string() &&
      value["output"].is_string() && !value["output"].get<std::string>().empty())
    return OutputPin{value["node"].get<std::string>(), value["output"].get<std::string>()};
  return std::nullopt;
}

json pin_json(const OutputPin& pin) {
  if (pin.is_reroute()) return json{{"reroute", pin.item}};
  return json{{"node", pin.item}, {"output", pin.output}};
}


DocNode node_from_graph(const GraphNode& in, bool& placed) {
  DocNode out;
  out.id = in.id;
  out.type = in.type;
  out.bypass = in.bypass;
  out.inputs = in.inputs;
  placed = false;
  for (const auto& [key, value] : in.editor.items()) {
    bool read = false;
    if (key == "pos") {
      if (auto v = vec2(value)) out.pos = *v, placed = read = true;
    } else if (key == "size") {
      if (auto v = vec2(value)) out.size = *v, read = true;
    } else if (key == "collapsed") {
      if (value.is_boolean()) out.collapsed = value.get<bool>(), read = true;
    } else if (key == "color") {
      if (auto c = parse_color(value)) out.color = *c, read = true;
    } else if (key == "title") {
      if (value.is_string()) out.title = value.get<std::string>(), read = true;
    } else if (key == "via") {
      if (value.is_object() && std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
        for (const auto& [input, reroute] : value.items()) out.via[input] = reroute.get<std::string>();
        read = true;
      }
    }
    if (!read) out.extra[key] = value;
  }
  return out;
}

// Places nodes the file gave no position: columns by depth (longest path from a source), to
// the right of whatever was placed.
void place_unplaced(DocumentState& state, const std::set<std::string>& unplaced) {
  if (unplaced.empty()) return;
  float left = 0, top = 0;
  bool any_placed = false;
  for (const auto& [id, node] : state.nodes) {
    if (unplaced.count(id)) continue;
    left = any_placed ? std::max(left, node.pos.x + 300) : node.pos.x + 300;
    top = any_placed ? std::min(top, node.pos.y) : node.pos.y;
    any_placed = true;
  }
  std::map<std::string, int> depth;
  std::function<int(const std::string&, int)> depth_of = [&](const std::string& id, int guard) -> int {
    if (auto it = depth.find(id); it != depth.end()) return it->second;
    if (guard > static_cast<int>(state.nodes.size())) return 0;  // a cycle: validation reports it
    int d = 0;
    for (const auto& [name, input] : state.nodes.at(id).inputs)
      if (const Link* link = std::get_if<Link>(&input); link && state.nodes.count(link->node))
        d = std::max(d, depth_of(link->node, guard + 1) + 1);
    return depth[id] = d;
  };
  std::map<int, int> rows;
  for (const auto& id : unplaced) {
    const int column = depth_of(id, 0);
    const int row = rows[column]++;
    DocNode& node = state.nodes.at(id);
    node.pos = {left + 300.0f * static_cast<float>(column), top + 200.0f * static_cast<float>(row)};
    node.placed = false;
  }
}

}  // namespace

std::optional<Link> resolve_in(const DocumentState& state, OutputPin at) {
  std::set<std::string> seen;
  while (at.is_reroute()) {
    auto it = state.reroutes.find(at.item);
    if (it == state.reroutes.end() || !it->second.from || !seen.insert(at.item).second) return std::nullopt;
    at = *it->second.from;
  }
  if (!state.nodes.count(at.item)) return std::nullopt;
  return Link{at.item, at.output};
}

json coordinate_json(float value) {
  const double v = value;
  if (std::nearbyint(v) == v && std::fabs(v) < 1e15) return static_cast<std::int64_t>(v);
  return std::round(v * 100.0) / 100.0;
}

std::string color_text(const Color& color) {
  char buffer[10];
  if (color.a == 255) std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", color.r, color.g, color.b);
  else std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x%02x", color.r, color.g, color.b, color.a);
  return buffer;
}

std::optional<Color> parse_color(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string text = value.get<std::string>();
  if ((text.size() != 7 && text.size() != 9) || text[0] != '#') return std::nullopt;
  unsigned channels[4] = {0, 0, 0, 255};
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    unsigned v = 0;
    for (std::size_t k = 1; k <= 2; ++k) {
      const char c = text[i + k];
      v *= 16;
      if (c >= '0' && c <= '9') v += static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v += static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v += static_cast<unsigned>(c - 'A' + 10);
      else return std::nullopt;
    }
    channels[i / 2] = v;
  }
  return Color{static_cast<std::uint8_t>(channels[0]), static_cast<std::uint8_t>(channels[1]),
               static_cast<std::uint8_t>(channels[2]), static_cast<std::uint8_t>(channels[3])};
}

DocumentState state_from_graph(const Graph& graph, const Registry* /*registry*/) {
  DocumentState state;
  std::set<std::string> unplaced;
  for (const auto& [id, node] : graph.nodes) {
    bool placed = false;
    state.nodes[id] = node_from_graph(node, placed);
    if (!placed) unplaced.insert(id);
  }

  std::vector<Group> groups;
  std::vector<Note> notes;
  for (const auto& [key, value] : graph.editor.items()) {
    bool read = false;
    if (key == "reroutes" && value.is_object()) {
      for (const auto& [id, r] : value.items()) {
        Reroute reroute;
        reroute.id = id;
        if (r.is_object()) {
          if (auto pos = r.find("pos"); pos != r.end())
            if (auto v = vec2(*pos)) reroute.pos = *v;
          if (auto from = r.find("from"); from != r.end()) reroute.from = pin_from_json(*from);
        }
        state.reroutes[id] = reroute;
      }
      read = true;
    } else if (key == "groups" && value.is_array()) {
      for (const auto& g : value) {
        if (!g.is_object()) continue;
        Group group;
        if (auto t = g.find("title"); t != g.end() && t->is_string()) group.title = t->get<std::string>();
        if (auto r = g.find("rect"); r != g.end())
          if (auto v = rect(*r)) group.rect = *v;
        if (auto c = g.find("color"); c != g.end()) group.color = parse_color(*c);
        group.order = static_cast<int>(groups.size());
        groups.push_back(group);
      }
      read = true;
    } else if (key == "notes" && value.is_array()) {
      for (const auto& n : value) {
        if (!n.is_object()) continue;
        Note note;
        if (auto t = n.find("text"); t != n.end() && t->is_string()) note.text = t->get<std::string>();
        if (auto r = n.find("rect"); r != n.end())
          if (auto v = rect(*r)) note.rect = *v;
        if (auto c = n.find("color"); c != n.end()) note.color = parse_color(*c);
        note.order = static_cast<int>(notes.size());
        notes.push_back(note);
      }
      read = true;
    } else if (key == "view" && value.is_object()) {
      auto offset = value.find("offset");
      auto zoom = value.find("zoom");
      std::optional<Vec2> o = offset != value.end() ? vec2(*offset) : std::nullopt;
      std::optional<float> z = zoom != value.end() ? number(*zoom) : std::nullopt;
      if (o && z && *z > 0 && value.size() == 2) {
        state.view = {*o, *z};
        state.view_in_file = true;
        read = true;
      }
    }
    if (!read) state.extra[key] = value;
  }

  // Groups and notes have no ids in the file: give them fresh ones.
  IdAllocator ids(state);
  for (auto& group : groups) {
    group.id = ids.next();
    state.groups[group.id] = group;
  }
  for (auto& note : notes) {
    note.id = ids.next();
    state.notes[note.id] = note;
  }

  // A reroute source that does not exist is dropped; a `via` is kept only when its reroute
  // chain still leads to the input's link (the file may have been edited by hand).
  for (auto& [id, reroute] : state.reroutes) {
    if (!reroute.from) continue;
    const bool exists = reroute.from->is_reroute() ? state.reroutes.count(reroute.from->item) > 0
                                                   : state.nodes.count(reroute.from->item) > 0;
    if (!exists) reroute.from.reset();
  }
  for (auto& [id, node] : state.nodes) {
    for (auto it = node.via.begin(); it != node.via.end();) {
      bool keep = false;
      if (state.reroutes.count(it->second)) {
        const auto chain = resolve_in(state, OutputPin{it->second, ""});
        auto input = node.inputs.find(it->first);
        if (chain) keep = input != node.inputs.end() && std::holds_alternative<Link>(input->second) &&
                          std::get<Link>(input->second) == *chain;
        else keep = input == node.inputs.end();
      }
      it = keep ? std::next(it) : node.via.erase(it);
    }
  }
  place_unplaced(state, unplaced);
  return state;
}

Graph graph_from_state(const DocumentState& state) {
  Graph graph;
  for (const auto& [id, node] : state.nodes) {
    GraphNode out;
    out.id = id;
    out.type = node.type;
    out.bypass = node.bypass;
    out.inputs = node.inputs;
    json editor = node.extra.is_object() ? node.extra : json::object();
    if (node.placed) editor["pos"] = vec2_json(node.pos);
    if (node.size) editor["size"] = vec2_json(*node.size);
    if (node.collapsed) editor["collapsed"] = true;
    if (node.color) editor["color"] = color_text(*node.color);
    if (!node.title.empty()) editor["title"] = node.title;
    if (!node.via.empty()) editor["via"] = node.via;
    out.editor = std::move(editor);
    graph.nodes[id] = std::move(out);
  }

  json editor = state.extra.is_object() ? state.extra : json::object();
  std::vector<const Group*> groups;
  for (const auto& [id, group] : state.groups) groups.push_back(&group);
  std::stable_sort(groups.begin(), groups.end(), [](const Group* a, const Group* b) { return a->order < b->order; });
  if (!groups.empty()) {
    json list = json::array();
    for (const Group* group : groups) {
      json g{{"title", group->title}, {"rect", rect_json(group->rect)}};
      if (group->color) g["color"] = color_text(*group->color);
      list.push_back(std::move(g));
    }
    editor["groups"] = std::move(list);
  }
  std::vector<const Note*> notes;
  for (const auto& [id, note] : state.notes) notes.push_back(&note);
  std::stable_sort(notes.begin(), notes.end(), [](const Note* a, const Note* b) { return a->order < b->order; });
  if (!notes.empty()) {
    json list = json::array();
    for (const Note* note : notes) {
      json n{{"text", note->text}, {"rect", rect_json(note->rect)}};
      if (note->color) n["color"] = color_text(*note->color);
      list.push_back(std::move(n));
    }
    editor["notes"] = std::move(list);
  }
  if (!state.reroutes.empty()) {
    json reroutes = json::object();
    for (const auto& [id, reroute] : state.reroutes) {
      json r{{"pos", vec2_json(reroute.pos)}};
      if (reroute.from) r["from"] = pin_json(*reroute.from);
      reroutes[id] = std::move(r);
    }
    editor["reroutes"] = std::move(reroutes);
  }
  if (state.view_in_file || !(state.view == ViewState{})) {
    editor["view"] = json{{"offset", vec2_json(state.view.offset)},
                          {"zoom", zoom_json(state.view.zoom)}};
  }
  graph.editor = std::move(editor);
  return graph;
}

}  // namespace diffgraph::editor
