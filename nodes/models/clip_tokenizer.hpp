// clip_tokenizer.hpp — the CLIP byte-level BPE tokenizer, exactly as openai/CLIP's SimpleTokenizer.
//
// encode(text):
//   1. clean: HTML-unescape twice (Python html.unescape rules), strip, collapse every run of
//      Unicode whitespace to one space, strip, lowercase (full Unicode, as Python str.lower()).
//      SimpleTokenizer first runs ftfy.fix_text; it is not reproduced (prompts rarely need it,
//      and the reference fixtures were made without it).
//   2. pre-tokenize with the pattern
//        <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+
//      (each digit is its own piece; the two special-token texts are pieces of their own);
//   3. each piece → its UTF-8 bytes as the 256 printable "byte characters", "</w>" appended to
//      the last, then merge adjacent pairs in merge-rank order (byte-level BPE).
// Ids are those of the CLIP vocabulary: 49406 = <|startoftext|> (BOS), 49407 = <|endoftext|> (EOS).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace diffgraph::models {

/// A vocabulary file that is missing or malformed; the message names the file.
class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How a prompt writes the special tokens as text: openai/CLIP (and Hugging Face, and so
/// ComfyUI) as `<|startoftext|>` / `<|endoftext|>`, open_clip (SDXL's CLIP-G reference) as
/// `<start_of_text>` / `<end_of_text>`. The other spelling is ordinary text. Same ids either way.
enum class SpecialTokenTexts { OpenAi, OpenClip };

class ClipTokenizer {
 public:
  /// Tokens per text-encoder window: BOS + 75 tokens + EOS.
  static constexpr std::size_t kContextLength = 77;
  static constexpr std::size_t kTokensPerWindow = kContextLength - 2;

  /// Loads OpenAI's bpe_simple_vocab_16e6.txt.gz (gzip; line 0 a header, lines 1..48894 the
  /// merges); ids are rebuilt the way SimpleTokenizer builds them.
  static ClipTokenizer from_bpe_gz(const std::filesystem::path& path);
  /// Loads the Hugging Face format: vocab.json (token → id) and merges.txt (rank order).
  static ClipTokenizer from_vocab_json(const std::filesystem::path& vocab_json,
                                       const std::filesystem::path& merges_txt);

  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
  ~ClipTokenizer();

  /// Token ids of `text`, without BOS/EOS. Invalid UTF-8 bytes are read as U+FFFD.
  std::vector<int> encode(std::string_view text, SpecialTokenTexts specials = SpecialTokenTexts::OpenAi) const;

  /// The 77-id window of the Hugging Face tokenizer with truncation (SD1's FrozenCLIPEmbedder):
  /// [BOS] + the first 75 ids + [EOS], right-padded with `pad_id` (SD1: 49407, SD2: 0).
  std::vector<int> encode_77(std::string_view text, int pad_id,
                             SpecialTokenTexts specials = SpecialTokenTexts::OpenAi) const;

  /// ComfyUI/A1111-style long prompts: the ids in chunks of 75, each chunk its own 77-id window
  /// [BOS] + chunk + [EOS] + padding with `pad_id`. An empty prompt gives one window.
  std::vector<std::vector<int>> encode_windows(std::string_view text, int pad_id,
                                               SpecialTokenTexts specials = SpecialTokenTexts::OpenAi) const;

  /// Step 1 alone: the cleaned, lowercased text.
  static std::string clean(std::string_view text);
  /// Step 2 alone, on already cleaned text: the pieces, as UTF-8.
  static std::vector<std::string> pretokenize(std::string_view cleaned,
                                              SpecialTokenTexts specials = SpecialTokenTexts::OpenAi);
  /// Steps 1-3: the BPE token strings (byte characters, "</w>" marking word ends).
  std::vector<std::string> bpe_tokens(std::string_view text, SpecialTokenTexts specials = SpecialTokenTexts::OpenAi) const;

  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  /// Number of ids (49408 for CLIP).
  std::size_t vocab_size() const { return vocab_.size(); }
  /// The id of a token string; throws TokenizerError when it is not in the vocabulary.
  int token_id(std::string_view token) const;

 private:
  struct BpeCache;

  ClipTokenizer();
  // The BPE of one byte-encoded piece, as token strings.
  std::vector<std::string> bpe(const std::string& piece) const;
  void finish_loading(const std::string& source);

  std::unordered_map<std::string, int> vocab_;
  // Merge rank of the pair "first second" (symbols never contain a space: byte 0x20 is "Ġ").
  std::unordered_map<std::string, int> merge_ranks_;
  int bos_id_ = -1;
  int eos_id_ = -1;
  std::unique_ptr<BpeCache> cache_;
};

}  // namespace diffgraph::models
