// PromptTemplate: a prompt written once with {placeholders}, filled from the inputs a, b, c and
// from "key=value" lines, so one template serves many subjects and styles.
#include <cctype>
#include <map>
#include <string>
#include <string_view>

#include "prompt_nodes.hpp"

namespace prompt_template {

using namespace diffgraph;

namespace {

bool is_key_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

/// Parses "key=value" lines. Blank lines and lines starting with '#' are skipped; the value is
/// everything after the first '=', trimmed. A malformed line is an error naming its number.
std::map<std::string, std::string> parse_values(std::string_view lines) {
  std::map<std::string, std::string> values;
  int line_number = 0;
  while (!lines.empty()) {
    const std::size_t end = lines.find('\n');
    const std::string_view line = trim(lines.substr(0, end));
    lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const std::size_t equals = line.find('=');
    const std::string_view key = trim(line.substr(0, equals == std::string_view::npos ? 0 : equals));
    bool valid_key = !key.empty();
    for (char c : key) valid_key = valid_key && is_key_char(c);
    if (equals == std::string_view::npos || !valid_key)
      throw NodeError("values line " + std::to_string(line_number) + " '" + std::string(line) +
                      "' is not key=value (keys are letters, digits and _)");
    values[std::string(key)] = std::string(trim(line.substr(equals + 1)));
  }
  return values;
}

std::string known_keys(const std::map<std::string, std::string>& values) {
  std::string list;
  for (const auto& [key, value] : values) list += (list.empty() ? "" : ", ") + key;
  return list;
}

/// Replaces every {key} of `pattern`; "{{" and "}}" stand for literal braces. A placeholder
/// without a value is an error, so a typo never reaches the text encoder silently.
std::string fill(std::string_view pattern, const std::map<std::string, std::string>& values) {
  std::string result;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if ((c == '{' || c == '}') && i + 1 < pattern.size() && pattern[i + 1] == c) {
      result += c;
      ++i;
      continue;
    }
    if (c == '}')
      throw NodeError("template: '}' at offset " + std::to_string(i) + " closes nothing (write }} for a brace)");
    if (c != '{') {
      result += c;
      continue;
    }
    const std::size_t close = pattern.find('}', i + 1);
    const std::string_view key = close == std::string_view::npos ? std::string_view() : pattern.substr(i + 1, close - i - 1);
    bool valid_key = !key.empty();
    for (char k : key) valid_key = valid_key && is_key_char(k);
    if (!valid_key)
      throw NodeError("template: '{' at offset " + std::to_string(i) +
                      " does not start a {placeholder} (write {{ for a brace)");
    const auto found = values.find(std::string(key));
    if (found == values.end())
      throw NodeError("template: no value for {" + std::string(key) + "} (known: " + known_keys(values) + ")");
    result += found->second;
    i = close;
  }
  return result;
}

}  // namespace

NodeSpec prompt_template_node() {
  NodeSpec spec;
  spec.type = "PromptTemplate";
  spec.display_name = "Prompt Template";
  spec.category = "text/prompt";
  spec.description =
      "Fills the {placeholders} of a template from a, b, c and key=value lines ({{ and }} are literal braces).";
  spec.inputs = {
      InputSpec::text("template", "a photo of {a}").multiline_text().describe("the text with {placeholders}"),
      InputSpec::text("values").multiline_text().optional().describe(
          "one key=value per line; a line naming a, b or c replaces that input"),
      InputSpec::text("a").optional().describe("the value of {a}"),
      InputSpec::text("b").optional().describe("the value of {b}"),
      InputSpec::text("c").optional().describe("the value of {c}"),
  };
  spec.outputs = {{"STRING", "STRING", "the filled-in text"}};
  spec.execute = [](NodeContext& ctx) {
    std::map<std::string, std::string> values;
    for (const char* key : {"a", "b", "c"}) values[key] = ctx.get_string(key);
    for (auto& [key, value] : parse_values(ctx.get_string("values"))) values[key] = std::move(value);
    ctx.set_output("STRING", make_value<StringValue>(fill(ctx.get_string("template"), values)));
  };
  return spec;
}

}  // namespace prompt_template
