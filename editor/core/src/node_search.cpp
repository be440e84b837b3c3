// Node search for the add-node palette and pin-type compatibility.
#include "diffgraph/editor/node_search.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace diffgraph::editor {

namespace {

// Scores of one matched character (see fuzzy_score).
constexpr int kMatch = 16;
constexpr int kStartOfText = 24;
constexpr int kWordStart = 20;
constexpr int kConsecutive = 18;
constexpr int kGap = 1;           // per skipped character between two matches
constexpr int kLeadingGapMax = 12;  // skipped characters before the first match cost at most this
constexpr int kExact = 100;       // the whole text matched, case-insensitively

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
bool is_upper(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }
bool is_lower(char c) { return std::islower(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// A word starts at the text's start, after a separator, at a lower→upper change ("vaeDecode"),
// at the last capital of an acronym followed by lower case ("VAEDecode": the 'D'), and where
// letters and digits meet.
bool word_start(std::string_view text, std::size_t j) {
  if (j == 0) return true;
  const char prev = text[j - 1], c = text[j];
  if (prev == ' ' || prev == '_' || prev == '-' || prev == '/' || prev == '.' || prev == ':' || prev == '(') return true;
  if (is_lower(prev) && is_upper(c)) return true;
  if (is_upper(prev) && is_upper(c) && j + 1 < text.size() && is_lower(text[j + 1])) return true;
  if (is_digit(prev) != is_digit(c) && (is_alpha(prev) || is_alpha(c))) return true;
  return false;
}

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

// Every whitespace-separated word of `query` starts a word of `text` (the description rule:
// subsequences in long prose match almost anything, so only whole-word prefixes count).
std::optional<int> word_prefix_score(std::string_view query, std::string_view text) {
  const std::string q = lowered(query), t = lowered(text);
  int score = 0;
  std::size_t pos = 0;
  bool any = false;
  while (pos < q.size()) {
    while (pos < q.size() && q[pos] == ' ') ++pos;
    const std::size_t end = std::min(q.find(' ', pos), q.size());
    if (end == pos) break;
    const std::string word = q.substr(pos, end - pos);
    bool found = false;
    for (std::size_t at = t.find(word); at != std::string::npos; at = t.find(word, at + 1))
      if (word_start(text, at)) {
        found = true;
        break;
      }
    if (!found) return std::nullopt;
    score += 4 * static_cast<int>(word.size());
    any = true;
    pos = end;
  }
  if (!any) return std::nullopt;
  return score;
}

}  // namespace

bool pin_types_compatible(std::string_view output_type, std::string_view input_type) {
  if (output_type.empty() || input_type.empty()) return false;
  return types_compatible(output_type, input_type);
}

std::optional<std::string> first_compatible_pin(const NodeSpec& spec, std::string_view type, PinSide side) {
  std::optional<std::string> loose;
  if (side == PinSide::Output) {
    for (const auto& input : spec.inputs) {
      if (!pin_types_compatible(type, input.type)) continue;
      if (input.type == type) return input.name;
      if (!loose) loose = input.name;
    }
  } else {
    for (const auto& output : spec.outputs) {
      if (!pin_types_compatible(output.type, type)) continue;
      if (output.type == type) return output.name;
      if (!loose) loose = output.name;
    }
  }
  return loose;
}

std::vector<PinMatch> compatible_pins(const Registry& registry, std::string_view type, PinSide side) {
  std::vector<PinMatch> out;
  for (const NodeSpec* spec : registry.nodes()) {
    if (side == PinSide::Output) {
      for (const auto& input : spec->inputs)
        if (pin_types_compatible(type, input.type)) out.push_back({spec->type, input.name, input.type});
    } else {
      for (const auto& output : spec->outputs)
        if (pin_types_compatible(output.type, type)) out.push_back({spec->type, output.name, output.type});
    }
  }
  return out;
}

std::optional<int> fuzzy_score(std::string_view query, std::string_view text, std::vector<std::size_t>* positions) {
  // Spaces in the query only separate what the user typed; they need not be in the text.
  std::string q;
  for (char c : query)
    if (c != ' ') q += lower(c);
  if (positions) positions->clear();
  if (q.empty()) return 0;
  const std::size_t n = q.size(), m = text.size();
  if (n > m) return std::nullopt;

  // best[i][j]: the best score of q[0..i] with q[i] matched at text[j]. The gap penalty is
  // linear, so the best predecessor of j is a running maximum of best[i-1][k] + k * kGap.
  constexpr int kNone = std::numeric_limits<int>::min() / 2;
  std::vector<std::vector<int>> best(n, std::vector<int>(m, kNone));
  std::vector<std::vector<std::size_t>> from(n, std::vector<std::size_t>(m, 0));
  for (std::size_t i = 0; i < n; ++i) {
    int running = kNone;
    std::size_t running_at = 0;
    for (std::size_t j = i; j < m; ++j) {
      // Predecessors k <= j - 2 enter the running maximum (k = j - 1 is "consecutive").
      if (i > 0 && j >= 2 && best[i - 1][j - 2] != kNone) {
        const int candidate = best[i - 1][j - 2] + static_cast<int>(j - 2) * kGap;
        if (candidate > running) running = candidate, running_at = j - 2;
      }
      if (lower(text[j]) != q[i]) continue;
      int score = kMatch;
      if (j == 0) score += kStartOfText;
      else if (word_start(text, j)) score += kWordStart;
      if (i == 0) {
        best[i][j] = score - std::min(static_cast<int>(j), kLeadingGapMax);
        continue;
      }
      int previous = kNone;
      if (running != kNone) {
        previous = running - static_cast<int>(j - 1) * kGap;
        from[i][j] = running_at;
      }
      if (best[i - 1][j - 1] != kNone && best[i - 1][j - 1] + kConsecutive >= previous) {
        previous = best[i - 1][j - 1] + kConsecutive;
        from[i][j] = j - 1;
      }
      if (previous != kNone) best[i][j] = previous + score;
    }
  }
  int result = kNone;
  std::size_t end = 0;
  for (std::size_t j = 0; j < m; ++j)
    if (best[n - 1][j] > result) result = best[n - 1][j], end = j;
  if (result == kNone) return std::nullopt;
  if (n == m) result += kExact;  // every character matched, in order: the text itself
  if (positions) {
    positions->assign(n, 0);
    std::size_t j = end;
    for (std::size_t i = n; i-- > 0;) {
      (*positions)[i] = j;
      j = from[i][j];
    }
  }
  return result;
}

std::string display_name(const NodeSpec& spec) { return spec.display_name.empty() ? spec.type : spec.display_name; }

NodeSearch::NodeSearch(const Registry& registry) {
  for (const NodeSpec* spec : registry.nodes()) entries_.push_back({spec, display_name(*spec)});
}

std::vector<SearchHit> NodeSearch::find(std::string_view query, const std::optional<PinFilter>& filter,
                                        std::size_t limit) const {
  const bool blank = std::all_of(query.begin(), query.end(), [](char c) { return c == ' '; });
  std::vector<SearchHit> hits;
  for (const auto& entry : entries_) {
    SearchHit hit;
    hit.type = entry.spec->type;
    hit.spec = entry.spec;
    if (filter) {
      auto pin = first_compatible_pin(*entry.spec, filter->type, filter->side);
      if (!pin) continue;
      hit.pin = *pin;
    }
    if (!blank) {
      std::optional<int> score = fuzzy_score(query, entry.display_name, &hit.highlight);
      if (entry.spec->type != entry.display_name) {
        std::vector<std::size_t> ignored;
        if (auto by_type = fuzzy_score(query, entry.spec->type, &ignored); by_type && (!score || *by_type > *score)) {
          score = by_type;
          hit.highlight.clear();
        }
      }
      if (auto by_category = fuzzy_score(query, entry.spec->category); by_category && (!score || *by_category / 2 > *score)) {
        score = *by_category / 2;
        hit.highlight.clear();
      }
      if (!score) {
        if (auto by_description = word_prefix_score(query, entry.spec->description)) score = *by_description;
      }
      if (!score) continue;
      hit.score = *score;
    }
    hits.push_back(std::move(hit));
  }
  auto name_of = [this](const SearchHit& hit) -> const std::string& {
    for (const auto& entry : entries_)
      if (entry.spec == hit.spec) return entry.display_name;
    return hit.type;
  };
  if (blank) {
    std::stable_sort(hits.begin(), hits.end(), [&](const SearchHit& a, const SearchHit& b) {
      if (a.spec->category != b.spec->category) return a.spec->category < b.spec->category;
      return name_of(a) < name_of(b);
    });
  } else {
    std::stable_sort(hits.begin(), hits.end(), [&](const SearchHit& a, const SearchHit& b) {
      if (a.score != b.score) return a.score > b.score;
      const std::string &na = name_of(a), &nb = name_of(b);
      if (na.size() != nb.size()) return na.size() < nb.size();
      return na < nb;
    });
  }
  if (hits.size() > limit) hits.resize(limit);
  return hits;
}

std::map<std::string, std::vector<const NodeSpec*>> nodes_by_category(const Registry& registry) {
  std::map<std::string, std::vector<const NodeSpec*>> out;
  for (const NodeSpec* spec : registry.nodes()) out[spec->category.empty() ? "other" : spec->category].push_back(spec);
  for (auto& [_, specs] : out)
    std::stable_sort(specs.begin(), specs.end(),
                     [](const NodeSpec* a, const NodeSpec* b) { return display_name(*a) < display_name(*b); });
  return out;
}

}  // namespace diffgraph::editor
