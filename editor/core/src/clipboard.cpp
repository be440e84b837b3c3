// Copy and paste: the clipboard holds a `diffgraph/1` fragment, so it travels between editor
// windows as plain text and a complete selection can be pasted into a file and run.
#include <algorithm>

#include <diffgraph/graph.hpp>

#include "diffgraph/editor/node_search.hpp"
#include "document_impl.hpp"

namespace diffgraph::editor {

std::string Document::Impl::copy(const std::vector<ItemRef>& items) const {
  DocumentState fragment;
  for (const auto& item : items) {
    switch (item.kind) {
      case ItemKind::Node:
        if (auto it = state.nodes.find(item.id); it != state.nodes.end()) fragment.nodes[item.id] = it->second;
        break;
      case ItemKind::Reroute:
        if (auto it = state.reroutes.find(item.id); it != state.reroutes.end()) fragment.reroutes[item.id] = it->second;
        break;
      case ItemKind::Note:
        if (auto it = state.notes.find(item.id); it != state.notes.end()) fragment.notes[item.id] = it->second;
        break;
      case ItemKind::Group:
        if (auto it = state.groups.find(item.id); it != state.groups.end()) fragment.groups[item.id] = it->second;
        break;
    }
  }
  return serialize_graph(graph_from_state(fragment));
}

std::vector<ItemRef> Document::Impl::paste(std::string_view text, const PasteOptions& options) {
  const Graph graph = parse_graph(text, "<clipboard>");
  DocumentState fragment = state_from_graph(graph, registry.get());

  IdAllocator ids(state);
  std::map<std::string, std::string> node_ids, reroute_ids;
  for (const auto& [id, _] : fragment.nodes) node_ids[id] = ids.next();
  for (const auto& [id, _] : fragment.reroutes) reroute_ids[id] = ids.next();

  // Where the items go: their top-left corner at `position`, or shifted by `offset`.
  std::optional<Vec2> top_left;
  auto extend = [&](Vec2 p) {
    top_left = top_left ? Vec2{std::min(top_left->x, p.x), std::min(top_left->y, p.y)} : p;
  };
  for (const auto& [_, n] : fragment.nodes) extend(n.pos);
  for (const auto& [_, r] : fragment.reroutes) extend(r.pos);
  for (const auto& [_, n] : fragment.notes) extend(n.rect.pos);
  for (const auto& [_, g] : fragment.groups) extend(g.rect.pos);
  if (!top_left) return {};
  const Vec2 delta = options.position ? *options.position - *top_left : options.offset;

  std::vector<ItemRef> pasted;
  for (auto& [old_id, node] : fragment.nodes) {
    node.id = node_ids.at(old_id);
    node.pos = node.pos + delta;
    node.placed = true;
    const NodeSpec* spec = spec_of(node);
    for (auto it = node.inputs.begin(); it != node.inputs.end();) {
      Link* link = std::get_if<Link>(&it->second);
      if (!link) {
        ++it;
        continue;
      }
      if (auto inside = node_ids.find(link->node); inside != node_ids.end()) {
        link->node = inside->second;
        ++it;
        continue;
      }
      // A link to a node outside the fragment: kept only on request, to an existing, fitting output.
      bool keep = false;
      if (options.keep_outside_links && state.nodes.count(link->node)) {
        const InputSpec* input = spec ? spec->find_input(it->first) : nullptr;
        keep = input && pin_types_compatible(output_type({link->node, link->output}), input->type);
      }
      if (keep) {
        ++it;
        continue;
      }
      const std::string name = it->first;
      it = node.inputs.erase(it);
      node.via.erase(name);
      const InputSpec* input = spec ? spec->find_input(name) : nullptr;
      if (input && input->widget && !std::holds_alternative<std::monostate>(input->default_value))
        node.inputs[name] = input->default_value;
    }
    for (auto it = node.via.begin(); it != node.via.end();) {
      auto inside = reroute_ids.find(it->second);
      if (inside == reroute_ids.end()) {
        it = node.via.erase(it);
      } else {
        it->second = inside->second;
        ++it;
      }
    }
    pasted.push_back(ItemRef::node(node.id));
    put(std::move(node));
  }
  for (auto& [old_id, reroute] : fragment.reroutes) {
    reroute.id = reroute_ids.at(old_id);
    reroute.pos = reroute.pos + delta;
    if (reroute.from) {
      const auto& map = reroute.from->is_reroute() ? reroute_ids : node_ids;
      auto inside = map.find(reroute.from->item);
      if (inside == map.end()) reroute.from.reset();
      else reroute.from->item = inside->second;
    }
    pasted.push_back(ItemRef::reroute(reroute.id));
    put(std::move(reroute));
  }
  int note_order = 0, group_order = 0;
  for (const auto& [_, n] : state.notes) note_order = std::max(note_order, n.order + 1);
  for (const auto& [_, g] : state.groups) group_order = std::max(group_order, g.order + 1);
  std::vector<Note> notes;
  for (auto& [_, note] : fragment.notes) notes.push_back(note);
  std::stable_sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) { return a.order < b.order; });
  for (auto& note : notes) {
    note.id = ids.next();
    note.rect.pos = note.rect.pos + delta;
    note.order = note_order++;
    pasted.push_back(ItemRef::note(note.id));
    put(std::move(note));
  }
  std::vector<Group> groups;
  for (auto& [_, group] : fragment.groups) groups.push_back(group);
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.order < b.order; });
  for (auto& group : groups) {
    group.id = ids.next();
    group.rect.pos = group.rect.pos + delta;
    group.order = group_order++;
    pasted.push_back(ItemRef::group(group.id));
    put(std::move(group));
  }
  // Inputs behind pasted reroutes take the links their (pasted) chains now resolve to.
  for (const auto& [_, id] : reroute_ids) propagate(id);

  selection.clear();
  selection.insert(pasted.begin(), pasted.end());
  return pasted;
}

}  // namespace diffgraph::editor
