// test_tokenizer_fixture.cpp — ClipTokenizer against every `tokenizer` case of the fixtures
// (openai/CLIP SimpleTokenizer outputs), with both vocabulary loaders, plus the 77-token windows.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <diffgraph/locations.hpp>

#include "models/clip_tokenizer.hpp"
#include "support/case_report.hpp"
#include "support/fixtures.hpp"

namespace fs = std::filesystem;
using diffgraph::models::ClipTokenizer;
using diffgraph::models::TokenizerError;
using diffgraph::testing::FixtureCase;

namespace {

enum class Loader { BpeGz, VocabJson };

// Loading parses ~49k merges: once per loader for the whole binary.
const ClipTokenizer& tokenizer(Loader loader) {
  static const auto gz = std::make_unique<ClipTokenizer>(
      ClipTokenizer::from_bpe_gz(diffgraph::testing::fixture_data_path("clip_bpe_gz")));
  static const auto hf = std::make_unique<ClipTokenizer>(
      ClipTokenizer::from_vocab_json(diffgraph::testing::fixture_data_path("clip_vocab_json"),
                                     diffgraph::testing::fixture_data_path("clip_merges_txt")));
  return loader == Loader::BpeGz ? *gz : *hf;
}

std::vector<FixtureCase> tokenizer_cases() { return diffgraph::testing::fixture_cases("tokenizer"); }

// The variant's special-token spelling: clip_l is openai/CLIP's SimpleTokenizer, open_clip_g
// open_clip's (SDXL's CLIP-G), README §12.2.
diffgraph::models::SpecialTokenTexts specials_of(const FixtureCase& fixture) {
  return fixture.entry.at("variant") == "open_clip_g" ? diffgraph::models::SpecialTokenTexts::OpenClip
                                                      : diffgraph::models::SpecialTokenTexts::OpenAi;
}

// One case, checked with one vocabulary loader.
void check_case(const FixtureCase& fixture, const ClipTokenizer& tok) {
  const std::string text =
      fixture.config.at(nlohmann::json::json_pointer(fixture.entry.at("text_pointer").get<std::string>()));
  const auto& expected = fixture.params;
  const int pad = fixture.entry.at("pad_id");
  const auto specials = specials_of(fixture);

  ASSERT_FALSE(fixture.outputs().empty());
  for (const auto& output : fixture.outputs()) {
    SCOPED_TRACE(output);
    if (output == "cleaned") {
      EXPECT_EQ(ClipTokenizer::clean(text), expected.at("cleaned").get<std::string>()) << "cleaned";
    } else if (output == "pretokens") {
      EXPECT_EQ(ClipTokenizer::pretokenize(ClipTokenizer::clean(text), specials),
                expected.at("pretokens").get<std::vector<std::string>>()) << "pretokens";
    } else if (output == "bpe_tokens") {
      EXPECT_EQ(tok.bpe_tokens(text, specials), expected.at("bpe_tokens").get<std::vector<std::string>>()) << "bpe_tokens";
    } else if (output == "ids") {
      EXPECT_EQ(tok.encode(text, specials), expected.at("ids").get<std::vector<int>>()) << "ids";
    } else if (output == "ids_77") {
      EXPECT_EQ(tok.encode_77(text, pad, specials), expected.at("ids_77").get<std::vector<int>>()) << "ids_77";
    } else {
      ADD_FAILURE() << "unknown tokenizer output '" << output << "' in case " << fixture.id();
    }
  }
  // open_clip cases whose text spells openai/CLIP's special tokens say what SimpleTokenizer makes of it.
  if (expected.contains("ids_openai_clip")) {
    EXPECT_EQ(tok.encode(text, diffgraph::models::SpecialTokenTexts::OpenAi),
              expected.at("ids_openai_clip").get<std::vector<int>>()) << "ids_openai_clip";
  }
  // Fields present in every case of this layout, checked even when `outputs` does not list them.
  if (expected.contains("ids_with_bos_eos")) {
    std::vector<int> with_specials = {tok.bos_id()};
    const auto ids = tok.encode(text, specials);
    with_specials.insert(with_specials.end(), ids.begin(), ids.end());
    with_specials.push_back(tok.eos_id());
    EXPECT_EQ(with_specials, expected.at("ids_with_bos_eos").get<std::vector<int>>()) << "ids_with_bos_eos";
  }
}

class TokenizerFixture : public ::testing::TestWithParam<FixtureCase> {};

// Both vocabulary loaders must give the reference's results.
TEST_P(TokenizerFixture, MatchesSimpleTokenizer) {
  const FixtureCase& fixture = GetParam();
  const diffgraph::testing::CaseReport case_report(fixture.id());
  for (const Loader loader : {Loader::BpeGz, Loader::VocabJson}) {
    SCOPED_TRACE(loader == Loader::BpeGz ? "bpe_simple_vocab_16e6.txt.gz" : "vocab.json + merges.txt");
    check_case(fixture, tokenizer(loader));
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, TokenizerFixture, ::testing::ValuesIn(tokenizer_cases()),
                         [](const ::testing::TestParamInfo<FixtureCase>& info) {
                           return diffgraph::testing::case_test_name(info.param.id());
                         });

TEST(TokenizerVocabulary, BothLoadersAgree) {
  const auto& gz = tokenizer(Loader::BpeGz);
  const auto& hf = tokenizer(Loader::VocabJson);
  EXPECT_EQ(gz.vocab_size(), 49408u);
  EXPECT_EQ(hf.vocab_size(), gz.vocab_size());
  EXPECT_EQ(gz.bos_id(), 49406);
  EXPECT_EQ(gz.eos_id(), 49407);
  EXPECT_EQ(hf.bos_id(), 49406);
  EXPECT_EQ(hf.eos_id(), 49407);
  for (const char* token : {"a</w>", "photograph</w>", "Ġ", "!", "ðŁĺĬ</w>"}) {
    EXPECT_EQ(gz.token_id(token), hf.token_id(token)) << token;
  }
  EXPECT_THROW(gz.token_id("no-such-token"), TokenizerError);
}

TEST(TokenizerVocabulary, TheShippedVocabularyIsFoundAsData) {
  // The build tree's data folder (share/diffgraph) links to the source tree's models/.
  const fs::path path = diffgraph::find_data_file("clip/bpe_simple_vocab_16e6.txt.gz");
  EXPECT_EQ(path.filename(), "bpe_simple_vocab_16e6.txt.gz");
  const auto tok = ClipTokenizer::from_bpe_gz(path);
  EXPECT_EQ(tok.encode("a photograph of an astronaut"), tokenizer(Loader::BpeGz).encode("a photograph of an astronaut"));
}

TEST(TokenizerVocabulary, MissingFilesAreNamed) {
  try {
    ClipTokenizer::from_bpe_gz("/nonexistent/vocab.txt.gz");
    ADD_FAILURE();
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vocab.txt.gz"), std::string::npos);
  }
  EXPECT_THROW(ClipTokenizer::from_vocab_json("/nonexistent/vocab.json", "/nonexistent/merges.txt"), TokenizerError);
}

// Cleaning rules beyond the fixture prompts (expected values from Python's html.unescape and
// str.lower()).
TEST(TokenizerCleaning, HtmlUnescapeLikePython) {
  EXPECT_EQ(ClipTokenizer::clean("&amp;amp;"), "&");  // unescaped twice
  EXPECT_EQ(ClipTokenizer::clean("&#x41;&#66;"), "ab");
  EXPECT_EQ(ClipTokenizer::clean("&notit;"), "\u00acit;");  // longest legacy prefix
  EXPECT_EQ(ClipTokenizer::clean("&ampx"), "&x");
  EXPECT_EQ(ClipTokenizer::clean("&#0;x"), "\ufffdx");
  EXPECT_EQ(ClipTokenizer::clean("&#150;"), "\u2013");  // Windows-1252 C1 replacement
  EXPECT_EQ(ClipTokenizer::clean("&#x1F600;"), "\U0001F600");
  EXPECT_EQ(ClipTokenizer::clean("&#55296;"), "\ufffd");
  EXPECT_EQ(ClipTokenizer::clean("&#12345678901234567890;"), "\ufffd");
  EXPECT_EQ(ClipTokenizer::clean("&#x;"), "&#x;");
  EXPECT_EQ(ClipTokenizer::clean("&bogus;"), "&bogus;");
  EXPECT_EQ(ClipTokenizer::clean("&#127;z"), "z");
  EXPECT_EQ(ClipTokenizer::clean("caf&eacute; &nbsp;x&NotNestedGreaterGreater;"), "café x\u2aa2\u0338");
}

TEST(TokenizerCleaning, WhitespaceAndCase) {
  EXPECT_EQ(ClipTokenizer::clean("\u00a0 A\u3000\u2003B \x1c"), "a b");
  EXPECT_EQ(ClipTokenizer::clean("\xce\xa3\xce\x91\xce\xa3 \xce\x91\xce\xa3. \xce\xa3"), "σας ας. σ");  // final sigma
  EXPECT_EQ(ClipTokenizer::clean("\u0130"), "i\u0307");
  EXPECT_EQ(ClipTokenizer::clean("ÀÉÎ ПРИВЕТ"), "àéî привет");
  EXPECT_EQ(ClipTokenizer::clean("bad \xff byte"), "bad \ufffd byte");
  EXPECT_EQ(ClipTokenizer::pretokenize("x'\u017f a\u0307b"),
            (std::vector<std::string>{"x", "'\u017f", "a", "\u0307", "b"}));
}

class TokenizerWindows : public ::testing::Test {
 protected:
  const ClipTokenizer& tok = tokenizer(Loader::BpeGz);
};

TEST_F(TokenizerWindows, EmptyPromptIsOneWindow) {
  const auto windows = tok.encode_windows("", 49407);
  ASSERT_EQ(windows.size(), 1u);
  std::vector<int> expected(ClipTokenizer::kContextLength, 49407);
  expected[0] = 49406;
  EXPECT_EQ(windows[0], expected);
  EXPECT_EQ(tok.encode_77("   ", 49407), expected);
}

TEST_F(TokenizerWindows, LongPromptSplitsIntoChunksOf75) {
  std::string prompt;
  for (int i = 0; i < 100; ++i) prompt += "cat ";
  const auto ids = tok.encode(prompt);
  ASSERT_EQ(ids.size(), 100u);
  const auto windows = tok.encode_windows(prompt, 49407);
  ASSERT_EQ(windows.size(), 2u);
  for (const auto& window : windows) {
    ASSERT_EQ(window.size(), ClipTokenizer::kContextLength);
    EXPECT_EQ(window.front(), tok.bos_id());
  }
  EXPECT_EQ(windows[0][76], tok.eos_id());
  EXPECT_TRUE(std::equal(ids.begin(), ids.begin() + 75, windows[0].begin() + 1));
  EXPECT_TRUE(std::equal(ids.begin() + 75, ids.end(), windows[1].begin() + 1));
  EXPECT_EQ(windows[1][26], tok.eos_id());
  for (std::size_t i = 27; i < 77; ++i) EXPECT_EQ(windows[1][i], 49407);
  // The truncating form keeps only the first window.
  EXPECT_EQ(tok.encode_77(prompt, 49407), windows[0]);
}

TEST_F(TokenizerWindows, ExactlyOneWindowAt75Tokens) {
  std::string prompt;
  for (int i = 0; i < 75; ++i) prompt += "dog ";
  EXPECT_EQ(tok.encode_windows(prompt, 49407).size(), 1u);
  EXPECT_EQ(tok.encode_windows(prompt + "dog", 49407).size(), 2u);
}

TEST_F(TokenizerWindows, Sd2PadsWithZero) {
  const auto windows = tok.encode_windows("a red fox", 0);
  ASSERT_EQ(windows.size(), 1u);
  const auto ids = tok.encode("a red fox");
  std::vector<int> expected = {tok.bos_id()};
  expected.insert(expected.end(), ids.begin(), ids.end());
  expected.push_back(tok.eos_id());
  expected.resize(ClipTokenizer::kContextLength, 0);
  EXPECT_EQ(windows[0], expected);
}

}  // namespace
