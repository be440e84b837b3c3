// libFuzzer target: the `diffgraph/1` workflow parser on arbitrary bytes.
//
// What must hold for every input:
//  * parse_graph either returns a graph or throws GraphError with at least one diagnostic —
//    never another exception, a crash or a sanitizer report;
//  * a graph it accepts survives a save/load round trip unchanged: serialize_graph writes text
//    that parses back to an equal graph and re-serializes to the same bytes (so a workflow the
//    editor opens can always be saved and opened again).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <diffgraph/errors.hpp>
#include <diffgraph/graph.hpp>

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_graph_json: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  diffgraph::Graph graph;
  try {
    graph = diffgraph::parse_graph(text, "<fuzz>");
  } catch (const diffgraph::GraphError& e) {
    if (e.diagnostics().empty()) fail("GraphError without diagnostics", e.what());
    for (const auto& diagnostic : e.diagnostics())
      if (diagnostic.message.empty()) fail("diagnostic without a message", e.what());
    return 0;
  }

  const std::string saved = diffgraph::serialize_graph(graph);
  diffgraph::Graph reloaded;
  try {
    reloaded = diffgraph::parse_graph(saved, "<fuzz round trip>");
  } catch (const diffgraph::GraphError& e) {
    fail("a serialized graph does not parse back", std::string(e.what()) + "\n" + saved);
  }
  if (!(reloaded == graph)) fail("the round trip changed the graph", saved);
  if (diffgraph::serialize_graph(reloaded) != saved) fail("serialization is not stable", saved);
  return 0;
}
