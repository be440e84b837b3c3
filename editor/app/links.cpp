// Wires, pins, wire dragging and reroutes (links.hpp).
#include "links.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <imgui_internal.h>

#include "node_view.hpp"

namespace diffgraph::editor::ui {

namespace {

float length_squared(ImVec2 a, ImVec2 b) { return (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y); }

float pin_hit_radius(const CanvasView& view) { return std::max(theme::kPinRadius * 1.8f * view.zoom, 7.0f); }

// May the dragged wire end on this pin? Cached for the drag: the graph does not change during it.
const ConnectionCheck& check_pin(UiState& state, const std::string& item, const std::string& name, bool output) {
  WireDrag& wire = *state.wire;
  const std::string key = pin_key(item, name, output);
  auto it = wire.checks.find(key);
  if (it != wire.checks.end()) return it->second;
  const Document& doc = state.core.document;
  ConnectionCheck check;
  if (wire.from && !output) {
    check = doc.check_connection(*wire.from, InputPin{item, name});
    if (wire.detached && *wire.detached == InputPin{item, name}) check = {true, {}};
  } else if (wire.to && output) {
    check = doc.check_connection(OutputPin{item, name}, *wire.to);
  } else {
    check.reason = output ? "an output connects to an input" : "an input connects to an output";
  }
  return wire.checks.emplace(key, std::move(check)).first->second;
}

bool is_reroute_end(const UiState& state, const std::string& item) { return state.core.document.reroute(item) != nullptr; }

void draw_bezier(ImDrawList* draw, ImVec2 a, ImVec2 b, ImU32 color, float thickness, float zoom) {
  const float dx = std::max(std::fabs(b.x - a.x) * 0.5f, 40.0f * zoom);
  draw->AddBezierCubic(a, {a.x + dx, a.y}, {b.x - dx, b.y}, b, color, thickness);
}

float distance_to_wire(ImVec2 p, ImVec2 a, ImVec2 b, float zoom) {
  float best = std::numeric_limits<float>::max();
  ImVec2 previous = a;
  constexpr int kSegments = 20;
  for (int i = 1; i <= kSegments; ++i) {
    const ImVec2 next = wire_point(a, b, static_cast<float>(i) / kSegments, zoom);
    const ImVec2 closest = ImLineClosestPoint(previous, next, p);
    best = std::min(best, length_squared(closest, p));
    previous = next;
  }
  return std::sqrt(best);
}

// What the dragged wire was dropped on.
struct DropTarget {
  std::string item;
  std::string name;   // "" for a reroute
  bool output = false;
};

std::optional<DropTarget> find_drop_target(UiState& state, ImVec2 mouse) {
  const Document& doc = state.core.document;
  const WireDrag& wire = *state.wire;
  const bool want_output = wire.to.has_value();
  const float radius = pin_hit_radius(state.view);
  std::optional<DropTarget> best;
  float best_distance = radius * radius;
  auto consider = [&](const std::string& item, const std::string& name, bool output, ImVec2 screen) {
    const float d = length_squared(screen, mouse);
    if (output == want_output && d <= best_distance) {
      best_distance = d;
      best = DropTarget{item, name, output};
    }
  };
  for (const auto& [id, layout] : state.layouts) {
    if (!layout.visible) continue;
    for (const PinLayout& pin : layout.inputs) consider(id, pin.name, false, state.view.to_screen(pin.pos));
    for (const PinLayout& pin : layout.outputs) consider(id, pin.name, true, state.view.to_screen(pin.pos));
  }
  for (const auto& [id, reroute] : doc.reroutes()) {
    const ImVec2 c = state.view.to_screen({reroute.pos.x, reroute.pos.y});
    consider(id, "", want_output, c);
  }
  if (best) return best;
  // Dropped on a node's body: its first pin that fits (the topmost node under the mouse).
  for (auto it = state.z_order.rbegin(); it != state.z_order.rend(); ++it) {
    auto layout = state.layouts.find(*it);
    if (layout == state.layouts.end() || !state.view.to_screen(layout->second.rect).contains(mouse)) continue;
    if (!layout->second.spec) return std::nullopt;
    const auto pin = first_compatible_pin(*layout->second.spec, wire.type, want_output ? PinSide::Input : PinSide::Output);
    if (!pin) return DropTarget{*it, "", false};  // a node, but nothing fits: not the canvas either
    return DropTarget{*it, *pin, want_output};
  }
  return std::nullopt;
}

}  // namespace

ImVec2 wire_point(ImVec2 a, ImVec2 b, float t, float zoom) {
  const float dx = std::max(std::fabs(b.x - a.x) * 0.5f, 40.0f * zoom);
  return ImBezierCubicCalc(a, {a.x + dx, a.y}, {b.x - dx, b.y}, b, t);
}

std::optional<ImVec2> pin_screen_pos(const UiState& state, const OutputPin& pin) {
  if (pin.is_reroute()) {
    const Reroute* reroute = state.core.document.reroute(pin.item);
    if (!reroute) return std::nullopt;
    return state.view.to_screen({reroute->pos.x, reroute->pos.y});
  }
  auto layout = state.layouts.find(pin.item);
  if (layout == state.layouts.end()) return std::nullopt;
  for (const PinLayout& p : layout->second.outputs)
    if (p.name == pin.output) return state.view.to_screen(p.pos);
  return std::nullopt;
}

std::optional<ImVec2> pin_screen_pos(const UiState& state, const InputPin& pin) {
  if (pin.is_reroute()) {
    const Reroute* reroute = state.core.document.reroute(pin.item);
    if (!reroute) return std::nullopt;
    return state.view.to_screen({reroute->pos.x, reroute->pos.y});
  }
  auto layout = state.layouts.find(pin.item);
  if (layout == state.layouts.end()) return std::nullopt;
  for (const PinLayout& p : layout->second.inputs)
    if (p.name == pin.input) return state.view.to_screen(p.pos);
  return std::nullopt;
}

void pin_item(UiState& state, const std::string& node_id, const PinLayout& pin, bool output, ImU32 color) {
  Document& doc = state.core.document;
  const float z = state.view.zoom;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 c = state.view.to_screen(pin.pos);
  const float hit = pin_hit_radius(state.view);

  ImGui::PushID(output ? "out" : "in");
  ImGui::SetCursorScreenPos({c.x - hit, c.y - hit});
  ImGui::InvisibleButton(pin.name.c_str(), {hit * 2, hit * 2});
  const bool hovered = ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenBlockedByActiveItem);
  ImGui::PopID();
  state.report.pins.push_back({node_id, pin.name, output, c});

  // While a wire is dragged, pins it cannot reach fade out.
  bool fits = true;
  if (state.wire) {
    const ConnectionCheck& check = check_pin(state, node_id, pin.name, output);
    fits = check.ok;
    if (hovered && !fits && !check.reason.empty()) {
      ImGui::PushFont(state.fonts.ui);
      ImGui::SetTooltip("%s", check.reason.c_str());
      ImGui::PopFont();
    }
  }
  const ImU32 shown = fits ? color : theme::with_alpha(color, 0.2f);
  const float radius = std::max(theme::kPinRadius * z, 2.5f) * (hovered && fits ? 1.3f : 1.0f);
  if (pin.connected || (hovered && fits)) {
    draw->AddCircleFilled(c, radius, shown);
  } else {
    draw->AddCircleFilled(c, radius, theme::with_alpha(IM_COL32(20, 22, 26, 255), fits ? 1.0f : 0.4f));
    draw->AddCircle(c, radius, shown, 0, std::max(1.5f * z, 1.0f));
  }

  if (ImGui::IsItemActivated() && !state.wire) {
    WireDrag wire;
    wire.start = ImGui::GetIO().MousePos;
    if (output) {
      wire.from = OutputPin{node_id, pin.name};
      wire.type = doc.output_type(*wire.from);
    } else if (auto source = doc.source_of(InputPin{node_id, pin.name})) {
      // A connected input: pick its wire up (drop it elsewhere to move it, on nothing to remove it).
      wire.from = *source;
      wire.detached = InputPin{node_id, pin.name};
      wire.type = doc.output_type(*source);
    } else {
      wire.to = InputPin{node_id, pin.name};
      wire.type = doc.input_type(*wire.to);
    }
    state.wire = std::move(wire);
  }
  if (hovered && !state.wire) {
    const NodeSpec* spec = doc.spec(node_id);
    std::string description;
    if (spec) {
      if (output) {
        if (const OutputSpec* o = spec->find_output(pin.name)) description = o->description;
      } else if (const InputSpec* i = spec->find_input(pin.name)) {
        description = i->description;
      }
    }
    ImGui::PushFont(state.fonts.ui);
    ImGui::SetTooltip("%s: %s%s%s", pin.name.c_str(), pin.type.empty() ? "?" : pin.type.c_str(),
                      description.empty() ? "" : "\n", description.c_str());
    ImGui::PopFont();
  }
}

void reroute_items(UiState& state) {
  Document& doc = state.core.document;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float z = state.view.zoom;
  const Registry* registry = doc.registry().get();
  for (const auto& [id, reroute] : doc.reroutes()) {
    const ImVec2 c = state.view.to_screen({reroute.pos.x, reroute.pos.y});
    const float radius = std::max(5.0f * z, 3.0f);
    const float hit = std::max(radius * 1.6f, 7.0f);
    ImGui::PushID(id.c_str());
    ImGui::SetCursorScreenPos({c.x - hit, c.y - hit});
    ImGui::InvisibleButton("##reroute", {hit * 2, hit * 2}, ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
    const bool hovered = ImGui::IsItemHovered();
    if (ImGui::GetIO().KeyAlt && ImGui::IsItemActivated() && !state.wire) {
      WireDrag wire;
      wire.start = ImGui::GetIO().MousePos;
      wire.from = OutputPin{id, ""};
      wire.type = doc.output_type(*wire.from);
      state.wire = std::move(wire);
    } else if (!state.wire) {
      item_mouse(state, ItemRef::reroute(id));
    }
    bool fits = true;
    if (state.wire) fits = check_pin(state, id, "", state.wire->to.has_value()).ok;
    const ImU32 color = type_color(registry, doc.output_type(OutputPin{id, ""}));
    draw->AddCircleFilled(c, radius * (hovered ? 1.25f : 1.0f), fits ? color : theme::with_alpha(color, 0.2f));
    if (doc.is_selected(ItemRef::reroute(id))) draw->AddCircle(c, radius + 3 * z, theme::kSelection, 0, 2.0f);
    ImGui::PopID();
  }
}

void draw_wires(UiState& state, bool nothing_else_hovered) {
  Document& doc = state.core.document;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float z = state.view.zoom;
  const Registry* registry = doc.registry().get();
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const Box screen = state.canvas_screen;
  const bool look_for_hover = nothing_else_hovered && state.canvas_hovered && !state.wire && !state.view.panning &&
                              !state.box_select_start;
  std::optional<Wire> hovered;
  ImVec2 hovered_a, hovered_b;
  float hovered_distance = std::max(6.0f, 4.0f * z);
  for (const Wire& wire : state.wires) {
    if (state.wire && state.wire->detached && *state.wire->detached == wire.to) continue;  // being moved
    const auto a = pin_screen_pos(state, wire.from);
    const auto b = pin_screen_pos(state, wire.to);
    if (!a || !b) continue;
    const Box bounds = Box::from_corners(*a, *b);
    const float reach = std::max(std::fabs(b->x - a->x) * 0.5f, 40.0f * z);
    if (!Box{{bounds.min.x - reach, bounds.min.y}, {bounds.max.x + reach, bounds.max.y}}.overlaps(screen)) continue;
    const bool highlighted = doc.is_selected(ItemRef::node(wire.from.item)) || doc.is_selected(ItemRef::node(wire.to.item));
    const ImU32 color = type_color(registry, wire.type);
    draw_bezier(draw, *a, *b, highlighted ? theme::shade(color, 1.35f) : color, std::max((highlighted ? 3.2f : 2.4f) * z, 1.2f), z);
    if (look_for_hover) {
      const float d = distance_to_wire(mouse, *a, *b, z);
      if (d < hovered_distance) {
        hovered_distance = d;
        hovered = wire;
        hovered_a = *a;
        hovered_b = *b;
      }
    }
  }
  if (!hovered) return;
  draw_bezier(draw, hovered_a, hovered_b, IM_COL32(255, 255, 255, 90), std::max(5.0f * z, 3.0f), z);
  if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) {
    const ImVec2 at = state.view.to_canvas(mouse);
    const std::string id = doc.insert_reroute(hovered->to, {at.x, at.y});
    doc.select(ItemRef::reroute(id));
  } else if (ImGui::IsMouseClicked(ImGuiMouseButton_Right)) {
    state.context_wire = hovered->to;
    state.context_canvas_pos = {state.view.to_canvas(mouse).x, state.view.to_canvas(mouse).y};
    state.open_popup = "wire_menu";
  }
  state.wire_hovered = true;
}

void wire_drag(UiState& state) {
  if (!state.wire) return;
  Document& doc = state.core.document;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float z = state.view.zoom;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  WireDrag& wire = *state.wire;
  const ImU32 color = type_color(doc.registry().get(), wire.type);
  if (wire.from) {
    if (auto a = pin_screen_pos(state, *wire.from)) draw_bezier(draw, *a, mouse, color, std::max(2.6f * z, 1.5f), z);
  } else if (auto b = pin_screen_pos(state, *wire.to)) {
    draw_bezier(draw, mouse, *b, color, std::max(2.6f * z, 1.5f), z);
  }
  if (ImGui::IsMouseDown(ImGuiMouseButton_Left)) return;

  // Released: decide what the drop means.
  const bool dragged = length_squared(mouse, wire.start) > 9.0f;
  const std::optional<DropTarget> target = dragged ? find_drop_target(state, mouse) : std::nullopt;
  if (target && !(target->name.empty() && !is_reroute_end(state, target->item))) {
    if (wire.from) {
      const InputPin to{target->item, target->name};
      if (!(wire.detached && *wire.detached == to)) {
        const ConnectionCheck check = doc.check_connection(*wire.from, to);
        if (check.ok) {
          Document::EditGroup group(doc, wire.detached ? "Move wire" : "Connect");
          if (wire.detached) doc.disconnect(*wire.detached);
          doc.connect(*wire.from, to);
        } else {
          state.message("cannot connect: " + check.reason, true);
        }
      }
    } else {
      const OutputPin from{target->item, target->name};
      const ConnectionCheck check = doc.check_connection(from, *wire.to);
      if (check.ok) doc.connect(from, *wire.to);
      else state.message("cannot connect: " + check.reason, true);
    }
  } else if (dragged && !target) {
    if (wire.detached) {
      doc.disconnect(*wire.detached);  // dragged off the pin into nothing: removed
    } else if (state.canvas_screen.contains(mouse)) {
      // Dropped on empty canvas: search for a node that takes this wire, and wire it in.
      PaletteState& palette = state.palette;
      palette = {};
      palette.open_requested = true;
      const ImVec2 at = state.view.to_canvas(mouse);
      palette.canvas_pos = {at.x, at.y};
      palette.from = wire.from;
      palette.to = wire.to;
      palette.filter = PinFilter{wire.type, wire.from ? PinSide::Output : PinSide::Input};
    }
  }
  state.wire.reset();
}

}  // namespace diffgraph::editor::ui
