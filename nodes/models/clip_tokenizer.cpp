// clip_tokenizer.cpp — openai/CLIP SimpleTokenizer in C++.
//
// Every step mirrors the Python reference so ids match bit for bit: text is handled as Unicode
// code points (as a Python str is), with utf8proc supplying the character classes and case
// mappings that Python's `regex` module and str.lower() use.
#include "clip_tokenizer.hpp"

#include <unistd.h>
#include <utf8proc.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <span>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace diffgraph::models {

namespace {

using CodePoints = std::u32string;

constexpr char32_t kReplacementCharacter = 0xFFFD;
constexpr std::string_view kStartOfText = "<|startoftext|>";
constexpr std::string_view kEndOfText = "<|endoftext|>";
// open_clip's tokenizer writes the same two tokens this way (same ids).
constexpr std::string_view kOpenClipStartOfText = "<start_of_text>";
constexpr std::string_view kOpenClipEndOfText = "<end_of_text>";

// The literal texts that stand for BOS and EOS in a prompt, per tokenizer.
std::pair<std::string_view, std::string_view> special_texts(SpecialTokenTexts specials) {
  return specials == SpecialTokenTexts::OpenClip ? std::pair{kOpenClipStartOfText, kOpenClipEndOfText}
                                                 : std::pair{kStartOfText, kEndOfText};
}
constexpr std::string_view kEndOfWord = "</w>";
// SimpleTokenizer keeps merges[1 : 49152-256-2+1]: 49152 ids minus 256 bytes minus 2 specials
// leave room for 48894 merges (the file holds more, which CLIP never used).
constexpr std::size_t kMergeCount = 49152 - 256 - 2;

// ---------------------------------------------------------------------------------------------
// UTF-8 ↔ code points

CodePoints decode_utf8(std::string_view text) {
  CodePoints out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  auto remaining = static_cast<utf8proc_ssize_t>(text.size());
  while (remaining > 0) {
    utf8proc_int32_t code_point = 0;
    const utf8proc_ssize_t length = utf8proc_iterate(bytes, remaining, &code_point);
    if (length <= 0) {
      // One replacement character per invalid byte, as Python's errors="replace" roughly does.
      out.push_back(kReplacementCharacter);
      ++bytes;
      --remaining;
      continue;
    }
    out.push_back(static_cast<char32_t>(code_point));
    bytes += length;
    remaining -= length;
  }
  return out;
}

void append_utf8(std::string& out, char32_t code_point) {
  utf8proc_uint8_t buffer[4];
  const auto length = utf8proc_encode_char(static_cast<utf8proc_int32_t>(code_point), buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char32_t c : text) append_utf8(out, c);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Character classes

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

bool is_letter(char32_t c) {  // \p{L}
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

bool is_number(char32_t c) {  // \p{N}
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO;
}

// \s of the `regex` module, which CLIP imports as `re`: the Unicode White_Space property.
bool is_regex_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Python's str.isspace(), which str.strip() uses: White_Space plus the separators U+001C..U+001F.
bool is_python_space(char32_t c) { return is_regex_space(c) || (c >= 0x1C && c <= 0x1F); }

// ---------------------------------------------------------------------------------------------
// html.unescape (Python's rules: numeric references with the HTML5 replacements, named
// references from the HTML5 table, the longest known prefix for names without ';').

struct NamedEntity {
  std::string_view name;
  std::string_view text;
};

constexpr NamedEntity kNamedEntities[] = {
#include "html_entities.inc"
};

const std::string_view* find_entity(std::string_view name) {
  const auto* end = std::end(kNamedEntities);
  const auto* it = std::lower_bound(std::begin(kNamedEntities), end, name,
                                    [](const NamedEntity& e, std::string_view n) { return e.name < n; });
  return it != end && it->name == name ? &it->text : nullptr;
}

// Numeric references to C1 controls mean the Windows-1252 character, as browsers do (HTML5).
char32_t windows_1252_replacement(std::uint64_t number) {
  static constexpr char32_t kC1[32] = {
      0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};
  return kC1[number - 0x80];
}

// Code points a numeric reference may not produce; Python drops them.
bool is_forbidden_reference(std::uint64_t n) {
  return (n >= 0x01 && n <= 0x08) || n == 0x0B || (n >= 0x0E && n <= 0x1F) || (n >= 0x7F && n <= 0x9F) ||
         (n >= 0xFDD0 && n <= 0xFDEF) || (n <= 0x10FFFF && (n & 0xFFFE) == 0xFFFE);
}

// The text a numeric reference stands for (possibly empty).
CodePoints numeric_reference(std::uint64_t number) {
  if (number == 0) return CodePoints(1, kReplacementCharacter);
  if (number == 0x0D) return U"\r";
  if (number >= 0x80 && number <= 0x9F) return CodePoints(1, windows_1252_replacement(number));
  if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) return CodePoints(1, kReplacementCharacter);
  if (is_forbidden_reference(number)) return {};
  return CodePoints(1, static_cast<char32_t>(number));
}

int hex_value(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

bool is_entity_name_char(char32_t c) {  // [^\t\n\f <&#;]
  return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' && c != ';';
}

CodePoints html_unescape(const CodePoints& text) {
  CodePoints out;
  out.reserve(text.size());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (text[i] != '&') {
      out.push_back(text[i++]);
      continue;
    }
    const std::size_t start = i + 1;
    if (start < n && text[start] == '#') {
      // &#123;  or  &#x7B;  (';' optional). The value saturates: anything too big becomes U+FFFD.
      const bool hex = start + 1 < n && (text[start + 1] == 'x' || text[start + 1] == 'X');
      std::size_t k = start + (hex ? 2 : 1);
      const std::size_t digits_begin = k;
      std::uint64_t number = 0;
      const int base = hex ? 16 : 10;
      while (k < n) {
        const int digit = hex ? hex_value(text[k]) : (text[k] >= '0' && text[k] <= '9' ? int(text[k] - '0') : -1);
        if (digit < 0) break;
        number = std::min<std::uint64_t>(number * base + digit, 0x110000);
        ++k;
      }
      if (k == digits_begin) {  // "&#" not followed by digits: no reference here
        out.push_back(text[i++]);
        continue;
      }
      if (k < n && text[k] == ';') ++k;
      const CodePoints replacement = numeric_reference(number);
      out += replacement;
      i = k;
      continue;
    }
    // A name: up to 32 name characters, then an optional ';'.
    std::size_t k = start;
    while (k < n && k - start < 32 && is_entity_name_char(text[k])) ++k;
    if (k == start) {
      out.push_back(text[i++]);
      continue;
    }
    if (k < n && text[k] == ';') ++k;
    const CodePoints name(text.begin() + start, text.begin() + k);
    const std::string name_utf8 = encode_utf8(name);
    if (const auto* entity = find_entity(name_utf8)) {
      out += decode_utf8(*entity);
    } else {
      // The longest known prefix (the legacy names that need no ';'), at least two characters.
      bool found = false;
      for (std::size_t length = name.size() - 1; length >= 2 && !found; --length) {
        if (const auto* prefix = find_entity(encode_utf8(std::u32string_view(name).substr(0, length)))) {
          out += decode_utf8(*prefix);
          out.append(name, length);
          found = true;
        }
      }
      if (!found) {
        out.push_back('&');
        out += name;
      }
    }
    i = k;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Whitespace and case

CodePoints python_strip(const CodePoints& text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && is_python_space(text[begin])) ++begin;
  while (end > begin && is_python_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

CodePoints collapse_whitespace(const CodePoints& text) {
  CodePoints out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (is_regex_space(text[i])) {
      out.push_back(' ');
      while (i < text.size() && is_regex_space(text[i])) ++i;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

// Cased and Case_Ignorable (Unicode DerivedCoreProperties), approximated from categories and case
// mappings; they only decide whether a capital sigma is word-final.
bool is_cased(char32_t c) {
  const auto cat = category(c);
  if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT) return true;
  const auto code = static_cast<utf8proc_int32_t>(c);
  return utf8proc_tolower(code) != code || utf8proc_toupper(code) != code;
}

bool is_case_ignorable(char32_t c) {
  switch (category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      break;
  }
  // Word_Break MidLetter / MidNumLet / Single_Quote.
  switch (c) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x5F4: case 0x2018: case 0x2019:
    case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
      return true;
    default:
      return false;
  }
}

// Python's Final_Sigma rule: Σ is ς after a cased letter and not before one (skipping
// case-ignorable characters both ways).
bool is_final_sigma(const CodePoints& text, std::size_t index) {
  std::size_t k = index;
  bool cased_before = false;
  while (k > 0) {
    const char32_t c = text[--k];
    if (is_case_ignorable(c)) continue;
    cased_before = is_cased(c);
    break;
  }
  if (!cased_before) return false;
  for (k = index + 1; k < text.size(); ++k) {
    if (is_case_ignorable(text[k])) continue;
    return !is_cased(text[k]);
  }
  return true;
}

// Python str.lower(): the simple lowercase mapping, plus the two unconditional special cases.
CodePoints python_lower(const CodePoints& text) {
  CodePoints out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == 0x130) {  // İ → i + combining dot above
      out += U"i\u0307";
    } else if (c == 0x3A3) {
      out.push_back(is_final_sigma(text, i) ? char32_t{0x3C2} : char32_t{0x3C3});
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pre-tokenizer: the SimpleTokenizer pattern, alternatives tried in order at each position.

// The pattern is compiled with IGNORECASE; on lowercased text the only character that folds onto
// one of its ASCII letters is 'ſ' (U+017F, folds to 's').
bool matches_folded(char32_t c, char ascii) { return c == char32_t(ascii) || (ascii == 's' && c == 0x17F); }

// Length of `literal` matched at `at`, or 0.
std::size_t match_literal(const CodePoints& text, std::size_t at, std::string_view literal) {
  if (text.size() - at < literal.size()) return 0;
  for (std::size_t k = 0; k < literal.size(); ++k) {
    if (!matches_folded(text[at + k], literal[k])) return 0;
  }
  return literal.size();
}

std::size_t match_piece(const CodePoints& text, std::size_t at, SpecialTokenTexts specials) {
  const auto [start, end_text] = special_texts(specials);
  const std::string_view literals[] = {start, end_text, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  for (const auto literal : literals) {
    if (const std::size_t length = match_literal(text, at, literal)) return length;
  }
  std::size_t end = at;
  if (is_letter(text[at])) {
    while (end < text.size() && is_letter(text[end])) ++end;
    return end - at;
  }
  if (is_number(text[at])) return 1;
  const auto is_other = [](char32_t c) { return !is_regex_space(c) && !is_letter(c) && !is_number(c); };
  while (end < text.size() && is_other(text[end])) ++end;
  return end - at;  // 0 at whitespace: no piece starts there
}

// ---------------------------------------------------------------------------------------------
// Byte-level encoding: each byte is a printable character, so BPE works on text without spaces or
// control characters. The printable Latin-1 bytes stand for themselves, the rest map to U+0100+.

struct ByteCharacters {
  std::array<std::string, 256> of_byte;  // UTF-8 of the character for each byte
  std::array<int, 256> order;            // bytes in vocabulary order

  ByteCharacters() {
    std::array<bool, 256> printable{};
    int count = 0;
    const auto keep = [&](int first, int last) {
      for (int b = first; b <= last; ++b) {
        printable[b] = true;
        order[count++] = b;
        of_byte[b].clear();
        append_utf8(of_byte[b], static_cast<char32_t>(b));
      }
    };
    keep('!', '~');
    keep(0xA1, 0xAC);
    keep(0xAE, 0xFF);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      if (printable[b]) continue;
      order[count++] = b;
      append_utf8(of_byte[b], static_cast<char32_t>(256 + next++));
    }
  }
};

const ByteCharacters& byte_characters() {
  static const ByteCharacters table;
  return table;
}

std::string byte_encode(std::string_view utf8) {
  const auto& table = byte_characters();
  std::string out;
  for (const char byte : utf8) out += table.of_byte[static_cast<unsigned char>(byte)];
  return out;
}

// Splits a byte-encoded piece into its characters (the initial BPE symbols).
std::vector<std::string> split_characters(const std::string& piece) {
  std::vector<std::string> symbols;
  for (const char32_t c : decode_utf8(piece)) {
    symbols.emplace_back();
    append_utf8(symbols.back(), c);
  }
  return symbols;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary files

std::string read_gzip(const std::filesystem::path& path) {
  gzFile file = gzopen(path.string().c_str(), "rb");
  if (!file) throw TokenizerError(path.string() + ": cannot open the CLIP vocabulary");
  std::string content;
  char buffer[1 << 16];
  for (;;) {
    const int read = gzread(file, buffer, sizeof buffer);
    if (read < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      throw TokenizerError(path.string() + ": cannot decompress: " + message);
    }
    if (read == 0) break;
    content.append(buffer, static_cast<std::size_t>(read));
  }
  gzclose(file);
  return content;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TokenizerError(path.string() + ": cannot open the CLIP vocabulary");
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    begin = end + 1;
  }
  return lines;
}

// "a b" → {"a", "b"}; throws naming the file and line otherwise.
std::pair<std::string, std::string> parse_merge(std::string_view line, const std::filesystem::path& path,
                                                std::size_t line_number) {
  std::vector<std::string_view> parts;
  std::size_t k = 0;
  while (k < line.size()) {
    while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
    const std::size_t begin = k;
    while (k < line.size() && line[k] != ' ' && line[k] != '\t') ++k;
    if (k > begin) parts.push_back(line.substr(begin, k - begin));
  }
  if (parts.size() != 2) {
    throw TokenizerError(path.string() + ":" + std::to_string(line_number) + ": expected a merge 'a b', got '" +
                         std::string(line.substr(0, 80)) + "'");
  }
  return {std::string(parts[0]), std::string(parts[1])};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

// Results of bpe() per piece: prompts repeat words, and BPE is the costly step.
struct ClipTokenizer::BpeCache {
  // A bound on memory for long-running processes fed arbitrary text.
  static constexpr std::size_t kMaxEntries = 1 << 16;
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<std::string>> entries;
};


ClipTokenizer::ClipTokenizer() : cache_(std::make_unique<BpeCache>()) {}
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::from_bpe_gz(const std::filesystem::path& path) {
  const std::string content = read_gzip(path);
  const auto lines = split_lines(content);
  if (lines.size() < kMergeCount + 1) {
    throw TokenizerError(path.string() + ": has " + std::to_string(lines.size()) + " lines, a CLIP vocabulary needs " +
                         std::to_string(kMergeCount + 1));
  }
  ClipTokenizer tokenizer;
  // Ids as SimpleTokenizer numbers them: bytes, bytes + "</w>", merge results, the two specials.
  std::vector<std::string> vocab;
  vocab.reserve(2 * 256 + kMergeCount + 2);
  const auto& bytes = byte_characters();
  for (const int b : bytes.order) vocab.push_back(bytes.of_byte[b]);
  for (const int b : bytes.order) vocab.push_back(bytes.of_byte[b] + std::string(kEndOfWord));
  for (std::size_t i = 0; i < kMergeCount; ++i) {
    auto [first, second] = parse_merge(lines[i + 1], path, i + 2);
    vocab.push_back(first + second);
    // A repeated pair keeps its last rank, as Python's dict(zip(...)) does.
    tokenizer.merge_ranks_[first + " " + second] = static_cast<int>(i);
  }
  vocab.emplace_back(kStartOfText);
  vocab.emplace_back(kEndOfText);
  for (std::size_t id = 0; id < vocab.size(); ++id) tokenizer.vocab_[vocab[id]] = static_cast<int>(id);
  tokenizer.finish_loading(path.string());
  return tokenizer;
}

ClipTokenizer ClipTokenizer::from_vocab_json(const std::filesystem::path& vocab_json,
                                             const std::filesystem::path& merges_txt) {
  ClipTokenizer tokenizer;
  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(read_text(vocab_json));
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerError(vocab_json.string() + ": not valid JSON: " + e.what());
  }
  if (!vocab.is_object()) throw TokenizerError(vocab_json.string() + ": expected an object token → id");
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > 1'000'000'000) {
      throw TokenizerError(vocab_json.string() + ": id of token '" + token + "' is not a valid integer");
    }
    tokenizer.vocab_[token] = id.get<int>();
  }

  const std::string merges = read_text(merges_txt);
  const auto lines = split_lines(merges);
  int rank = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty() || (i == 0 && lines[i].starts_with("#version"))) continue;
    auto [first, second] = parse_merge(lines[i], merges_txt, i + 1);
    tokenizer.merge_ranks_[first + " " + second] = rank++;
  }
  tokenizer.finish_loading(vocab_json.string() + " + " + merges_txt.string());
  return tokenizer;
}


void ClipTokenizer::finish_loading(const std::string& source) {
  const auto special = [&](std::string_view token) {
    const auto it = vocab_.find(std::string(token));
    if (it == vocab_.end()) throw TokenizerError(source + ": the vocabulary lacks " + std::string(token));
    return it->second;
  };
  bos_id_ = special(kStartOfText);
  eos_id_ = special(kEndOfText);
  // Every single byte must have a token, or some text could not be encoded at all.
  const auto& bytes = byte_characters();
  for (const auto& character : bytes.of_byte) {
    if (!vocab_.count(character) || !vocab_.count(character + std::string(kEndOfWord))) {
      throw TokenizerError(source + ": the vocabulary lacks the byte token '" + character + "'");
    }
  }
  // Every merge result must have an id, so encode() can never meet an unknown token.
  for (const auto& [pair, rank] : merge_ranks_) {
    std::string merged = pair;
    merged.erase(merged.find(' '), 1);
    if (!vocab_.count(merged)) {
      throw TokenizerError(source + ": merge " + std::to_string(rank) + " ('" + pair +
                           "') makes a token missing from the vocabulary");
    }
  }
}

std::string ClipTokenizer::clean(std::string_view text) {
  CodePoints code_points = decode_utf8(text);
  code_points = html_unescape(html_unescape(code_points));
  code_points = python_strip(collapse_whitespace(python_strip(code_points)));
  return encode_utf8(python_lower(code_points));
}

std::vector<std::string> ClipTokenizer::pretokenize(std::string_view cleaned, SpecialTokenTexts specials) {
  const CodePoints text = decode_utf8(cleaned);
  std::vector<std::string> pieces;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = match_piece(text, at, specials);
    if (length == 0) {
      ++at;
      continue;
    }
    pieces.push_back(encode_utf8(std::u32string_view(text).substr(at, length)));
    at += length;
  }
  return pieces;
}

std::vector<std::string> ClipTokenizer::bpe(const std::string& piece) const {
  {
    std::lock_guard lock(cache_->mutex);
    if (const auto it = cache_->entries.find(piece); it != cache_->entries.end()) return it->second;
  }

  std::vector<std::string> word = split_characters(piece);
  if (word.empty()) return {};
  word.back() += kEndOfWord;
  std::string key;
  while (word.size() > 1) {
    // The adjacent pair with the lowest merge rank…
    int best_rank = -1;
    std::size_t best = 0;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      key.assign(word[i]).append(" ").append(word[i + 1]);
      const auto it = merge_ranks_.find(key);
      if (it != merge_ranks_.end() && (best_rank < 0 || it->second < best_rank)) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best_rank < 0) break;
    // …is merged everywhere it occurs, left to right without overlaps.
    const std::string first = word[best], second = word[best + 1];
    std::vector<std::string> merged;
    merged.reserve(word.size());
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(std::move(word[i]));
        i += 1;
      }
    }
    word = std::move(merged);
  }

  std::lock_guard lock(cache_->mutex);
  if (cache_->entries.size() >= BpeCache::kMaxEntries) cache_->entries.clear();
  cache_->entries.emplace(piece, word);
  return word;
}

std::vector<std::string> ClipTokenizer::bpe_tokens(std::string_view text, SpecialTokenTexts specials) const {
  std::vector<std::string> tokens;
  const auto [start, end_text] = special_texts(specials);
  for (const auto& piece : pretokenize(clean(text), specials)) {
    // The special-token texts are single tokens (SimpleTokenizer seeds its cache with them),
    // named in the vocabulary as openai/CLIP names them.
    if (piece == start || piece == end_text) {
      tokens.emplace_back(piece == start ? kStartOfText : kEndOfText);
      continue;
    }
    for (auto& token : bpe(byte_encode(piece))) tokens.push_back(std::move(token));
  }
  return tokens;
}

int ClipTokenizer::token_id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) throw TokenizerError("token '" + std::string(token) + "' is not in the CLIP vocabulary");
  return it->second;
}

std::vector<int> ClipTokenizer::encode(std::string_view text, SpecialTokenTexts specials) const {
  std::vector<int> ids;
  for (const auto& token : bpe_tokens(text, specials)) ids.push_back(token_id(token));
  return ids;
}

namespace {

std::vector<int> make_window(std::span<const int> ids, int bos, int eos, int pad) {
  std::vector<int> window;
  window.reserve(ClipTokenizer::kContextLength);
  window.push_back(bos);
  window.insert(window.end(), ids.begin(), ids.end());
  window.push_back(eos);
  window.resize(ClipTokenizer::kContextLength, pad);
  return window;
}

}  // namespace

std::vector<int> ClipTokenizer::encode_77(std::string_view text, int pad_id, SpecialTokenTexts specials) const {
  const std::vector<int> ids = encode(text, specials);
  const std::size_t kept = std::min(ids.size(), kTokensPerWindow);
  return make_window(std::span<const int>(ids).first(kept), bos_id_, eos_id_, pad_id);
}

std::vector<std::vector<int>> ClipTokenizer::encode_windows(std::string_view text, int pad_id,
                                                            SpecialTokenTexts specials) const {
  const std::vector<int> ids = encode(text, specials);
  std::vector<std::vector<int>> windows;
  for (std::size_t begin = 0; begin < ids.size(); begin += kTokensPerWindow) {
    const std::size_t count = std::min(kTokensPerWindow, ids.size() - begin);
    windows.push_back(make_window(std::span<const int>(ids).subspan(begin, count), bos_id_, eos_id_, pad_id));
  }
  if (windows.empty()) windows.push_back(make_window({}, bos_id_, eos_id_, pad_id));
  return windows;
}

}  // namespace diffgraph::models
