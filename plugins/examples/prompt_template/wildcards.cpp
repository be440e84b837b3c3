// Wildcards: "a {red|green|blue} {car|bicycle}" becomes one of its six combinations, chosen by a
// seed, so a batch of prompts varies while any one of them can be reproduced exactly.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "prompt_nodes.hpp"

namespace prompt_template {

using namespace diffgraph;

namespace {

/// SplitMix64: a tiny generator whose output is fixed by its definition, unlike the standard
/// library's distributions, so a seed gives the same prompt with every compiler and platform.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// An index in [0, count).
  std::size_t pick(std::size_t count) { return static_cast<std::size_t>(next() % count); }

 private:
  std::uint64_t state_;
};

/// Expands `text` from `pos` until the end, or until the '|' or '}' that ends the current
/// alternative when `depth` > 0. Every group draws from the generator when its '}' is reached,
/// a fixed order for a given text; an unchosen alternative is still parsed (and checked) but
/// its expansion is thrown away. A group without '|' ("{subject}") is kept
/// verbatim, braces included, so the result can feed a PromptTemplate. A backslash makes the
/// next character literal.
std::string expand(std::string_view text, std::size_t& pos, int depth, SplitMix64& random) {
  std::string out;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '\\' && pos + 1 < text.size()) {
      out += text[pos + 1];
      pos += 2;
    } else if (depth > 0 && (c == '|' || c == '}')) {
      return out;
    } else if (c == '}') {
      throw NodeError("text: '}' at offset " + std::to_string(pos) + " has no matching '{' (write \\} for a brace)");
    } else if (c == '{') {
      const std::size_t open = pos++;
      std::vector<std::string> alternatives{expand(text, pos, depth + 1, random)};
      while (pos < text.size() && text[pos] == '|') {
        ++pos;
        alternatives.push_back(expand(text, pos, depth + 1, random));
      }
      if (pos >= text.size())
        throw NodeError("text: '{' at offset " + std::to_string(open) + " is never closed");
      ++pos;  // the '}'
      out += alternatives.size() == 1 ? "{" + alternatives.front() + "}" : alternatives[random.pick(alternatives.size())];
    } else {
      out += c;
      ++pos;
    }
  }
  return out;
}

}  // namespace

NodeSpec wildcards_node() {
  NodeSpec spec;
  spec.type = "Wildcards";
  spec.category = "text/prompt";
  spec.description =
      "Replaces every {a|b|c} group by one of its alternatives, chosen by the seed (groups may nest; \\ escapes).";
  spec.inputs = {
      InputSpec::text("text", "a {red|green|blue} {car|bicycle}").multiline_text().describe("text with {a|b} groups"),
      InputSpec::integer("seed", 0).describe("the same text and seed always give the same result"),
  };
  spec.outputs = {{"STRING", "STRING", "the text with one alternative of each group"}};
  spec.execute = [](NodeContext& ctx) {
    SplitMix64 random(static_cast<std::uint64_t>(ctx.get_int("seed")));
    std::size_t pos = 0;
    ctx.set_output("STRING", make_value<StringValue>(expand(ctx.get_string("text"), pos, 0, random)));
  };
  return spec;
}

}  // namespace prompt_template
