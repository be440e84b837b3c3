/// @file node_search.hpp
/// Finding node types: fuzzy search for the add-node palette, compatibility of pin types for
/// dimming pins while a wire is dragged and for the palette filtered to compatible nodes, and
/// the node library by category.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <diffgraph/registry.hpp>

namespace diffgraph::editor {

/// Which side of a node a pin is on.
enum class PinSide { Input, Output };

/// A pin of a registered node type that can take part in a wire.
struct PinMatch {
  std::string node_type;
  std::string pin;       ///< input or output name
  std::string pin_type;  ///< its declared type
  bool operator==(const PinMatch&) const = default;
};

/// True when an output of type `output_type` may feed an input of type `input_type` ("*" on
/// either side matches anything; "" — an unknown type — matches nothing).
bool pin_types_compatible(std::string_view output_type, std::string_view input_type);

/// Every pin of every registered node type that can connect to a pin of `type` on `side`:
/// for a dragged output (side Output) the inputs that accept `type`, for a dragged input
/// (side Input) the outputs that `type` accepts. Sorted by node type, then pin order.
std::vector<PinMatch> compatible_pins(const Registry& registry, std::string_view type, PinSide side);

/// The first pin of `spec` that can connect to a pin of `type` on `side` (see compatible_pins),
/// preferring an exact type match over "*". nullopt when there is none.
std::optional<std::string> first_compatible_pin(const NodeSpec& spec, std::string_view type, PinSide side);

/// Scores `text` for `query` as a case-insensitive subsequence: nullopt when some query
/// character is missing. Higher is better: consecutive runs, matches at the start of the text
/// and at word starts (after a space, '_', '-', '/', '.', or a lower→upper case change) earn
/// bonuses; gaps cost a little. `positions`, when given, receives the matched byte offsets.
/// An empty query matches everything with score 0.
std::optional<int> fuzzy_score(std::string_view query, std::string_view text,
                               std::vector<std::size_t>* positions = nullptr);

/// Restricts a search to node types that can be wired to a dragged pin.
struct PinFilter {
  std::string type;  ///< the dragged pin's type
  PinSide side;      ///< the dragged pin's side (Output: the new node needs an accepting input)
};

/// One search result.
struct SearchHit {
  std::string type;                      ///< node type
  const NodeSpec* spec = nullptr;        ///< valid while the registry lives
  int score = 0;
  std::string pin;                       ///< with a PinFilter: the new node's pin to wire
  std::vector<std::size_t> highlight;    ///< matched byte offsets in the display name (may be empty)
};

/// Fuzzy search over a registry's node types. Each type is matched on its display name and
/// type name (full weight), its category (less) and its description (whole words only, least),
/// keeping the best; ties go to the shorter name, then alphabetical order.
class NodeSearch {
 public:
  /// Indexes `registry` (which must outlive the search; rebuild after a plugin reload).
  explicit NodeSearch(const Registry& registry);

  /// The best `limit` hits for `query` (every type, alphabetically by category and name, when
  /// `query` is blank), optionally only types with a pin matching `filter`.
  std::vector<SearchHit> find(std::string_view query, const std::optional<PinFilter>& filter = std::nullopt,
                              std::size_t limit = 50) const;

 private:
  struct Entry {
    const NodeSpec* spec;
    std::string display_name;
  };
  std::vector<Entry> entries_;
};

/// The display name of a node type (its display_name, or its type when that is empty).
std::string display_name(const NodeSpec& spec);

/// Node specs by category, for the library panel: categories sorted, specs by display name.
/// A spec without a category is under "other". Nested categories ("image/mask") keep their
/// full name; split on '/' to build a tree.
std::map<std::string, std::vector<const NodeSpec*>> nodes_by_category(const Registry& registry);

}  // namespace diffgraph::editor
