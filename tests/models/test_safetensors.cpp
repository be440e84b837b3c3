// test_safetensors.cpp — the safetensors reader/writer: round trips, a suite of hostile files
// (each must fail with a SafetensorsError naming the file and, where one is involved, the
// tensor), and the real tiny_sd1 checkpoint header.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "models/safetensors.hpp"
#include "support/fixtures.hpp"

namespace fs = std::filesystem;
using namespace diffgraph::models;

namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("diffgraph_safetensors_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_raw(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  // A file with header length `length`, header text `header` and `data_bytes` zero bytes of data.
  static std::string file_bytes(std::uint64_t length, const std::string& header, std::size_t data_bytes) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
    return bytes + header + std::string(data_bytes, '\0');
  }
  static std::string file_bytes(const std::string& header, std::size_t data_bytes) {
    return file_bytes(header.size(), header, data_bytes);
  }

  // Opening the file must fail; the message must name the file and contain every `fragment`.
  void expect_rejected(const std::string& name, const std::string& bytes,
                       const std::vector<std::string>& fragments) {
    SCOPED_TRACE(name);
    const fs::path path = write_raw(name + ".safetensors", bytes);
    try {
      SafetensorsFile::open(path);
      ADD_FAILURE() << "accepted a bad file: " << name;
    } catch (const SafetensorsError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path.string()), std::string::npos) << message;
      for (const auto& fragment : fragments) EXPECT_NE(message.find(fragment), std::string::npos) << message;
    }
    // The pure parser must agree (the fuzz target calls it).
    EXPECT_THROW(parse_safetensors_header({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, name),
                 SafetensorsError);
  }

  fs::path dir_;
};

template <typename T>
std::span<const std::byte> as_bytes(const std::vector<T>& values) {
  return std::as_bytes(std::span<const T>(values));
}

TEST_F(SafetensorsTest, RoundTrip) {
  const std::vector<float> weights = {1.f, -2.f, 3.5f, 4.f, 5.f, 6.25f};
  const std::vector<std::int64_t> scalar = {42};
  const std::vector<std::uint16_t> halves = {0x3C00, 0xC000};
  const std::vector<std::uint8_t> flags = {0, 1, 1, 0};
  const std::vector<TensorToWrite> tensors = {
      {"z.weight", Dtype::F32, {2, 3}, as_bytes(weights)},
      {"a.scalar", Dtype::I64, {}, as_bytes(scalar)},
      {"m.half", Dtype::F16, {2}, as_bytes(halves)},
      {"m.empty", Dtype::BF16, {0, 4}, {}},
      {"b.flags", Dtype::BOOL, {4}, as_bytes(flags)},
      {"ü.unicode", Dtype::U8, {4}, as_bytes(flags)},
  };
  const fs::path path = dir_ / "round.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}, {"note", "✓ utf-8"}});

  const auto file = SafetensorsFile::open(path);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (std::size_t i = 1; i < file.tensors().size(); ++i) {
    EXPECT_LT(file.tensors()[i - 1].name, file.tensors()[i].name);
    // Keys are written in sorted order, so the data follows the same order.
    EXPECT_LE(file.tensors()[i - 1].end, file.tensors()[i].begin);
  }
  // The data section starts 8-byte aligned (8-byte length + header padded to a multiple of 8).
  EXPECT_EQ(file.tensors().front().begin % 8, 0u);
  for (const auto& tensor : tensors) {
    SCOPED_TRACE(tensor.name);
    EXPECT_EQ(file.at(tensor.name).dtype, tensor.dtype);
    EXPECT_EQ(file.at(tensor.name).shape, tensor.shape);
  }
  for (const auto& tensor : tensors) {
    const auto bytes = file.bytes(file.at(tensor.name));
    ASSERT_EQ(bytes.size(), tensor.data.size()) << tensor.name;
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), tensor.data.begin())) << tensor.name;
  }
  EXPECT_EQ(file.at("z.weight").numel(), 6);
  EXPECT_EQ(file.at("a.scalar").numel(), 1);
  EXPECT_EQ(file.at("m.empty").numel(), 0);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("note"), "✓ utf-8");
  EXPECT_EQ(file.find("missing"), nullptr);
  try {
    file.at("missing");
    ADD_FAILURE() << "at() of an absent tensor should throw";
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
  }

  // The header length is a multiple of 8, and the header is JSON padded with spaces.
  std::ifstream in(path, std::ios::binary);
  unsigned char prefix[8];
  in.read(reinterpret_cast<char*>(prefix), 8);
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | prefix[i];
  EXPECT_EQ(length % 8, 0u);
  std::string header(length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(length));
  EXPECT_EQ(header.front(), '{');
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));
}

TEST_F(SafetensorsTest, MovedFileKeepsItsMapping) {
  const std::vector<float> values = {1.f, 2.f};
  const fs::path path = dir_ / "move.safetensors";
  write_safetensors(path, {{"x", Dtype::F32, {2}, as_bytes(values)}});
  auto original = SafetensorsFile::open(path);
  SafetensorsFile moved = std::move(original);
  const auto bytes = moved.bytes(moved.at("x"));
  float read[2];
  std::memcpy(read, bytes.data(), sizeof read);
  EXPECT_EQ(read[0], 1.f);
  EXPECT_EQ(read[1], 2.f);
}

TEST_F(SafetensorsTest, OverwriteIsAtomicAndLeavesNoTemporaryFiles) {
  const std::vector<float> first = {1.f}, second = {2.f, 3.f};
  const fs::path path = dir_ / "over.safetensors";
  write_safetensors(path, {{"x", Dtype::F32, {1}, as_bytes(first)}});
  write_safetensors(path, {{"y", Dtype::F32, {2}, as_bytes(second)}});
  const auto file = SafetensorsFile::open(path);
  ASSERT_EQ(file.tensors().size(), 1u);
  EXPECT_EQ(file.tensors()[0].name, "y");
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(SafetensorsTest, WriterRejectsInconsistentTensors) {
  const std::vector<float> three = {1.f, 2.f, 3.f};
  const fs::path path = dir_ / "bad.safetensors";
  EXPECT_THROW(write_safetensors(path, {{"x", Dtype::F32, {2, 2}, as_bytes(three)}}), SafetensorsError);
  EXPECT_THROW(write_safetensors(path, {{"x", Dtype::F32, {3}, as_bytes(three)},
                                        {"x", Dtype::F32, {3}, as_bytes(three)}}),
               SafetensorsError);
  EXPECT_THROW(write_safetensors(path, {{"x", Dtype::F32, {-3}, as_bytes(three)}}), SafetensorsError);
  EXPECT_THROW(write_safetensors(path, {{"bad\xff", Dtype::F32, {3}, as_bytes(three)}}), SafetensorsError);
  EXPECT_THROW(write_safetensors(dir_ / "no_such_dir" / "x.safetensors", {{"x", Dtype::F32, {3}, as_bytes(three)}}),
               SafetensorsError);
  EXPECT_FALSE(fs::exists(path));
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 0);
}

TEST_F(SafetensorsTest, DtypeNames) {
  for (const Dtype dtype : {Dtype::F64, Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::I64, Dtype::I32, Dtype::I16,
                            Dtype::I8, Dtype::U8, Dtype::BOOL}) {
    EXPECT_EQ(dtype_from_name(dtype_name(dtype)), dtype);
  }
  EXPECT_EQ(dtype_size(Dtype::BF16), 2u);
  EXPECT_EQ(dtype_size(Dtype::I64), 8u);
  EXPECT_THROW(dtype_from_name("F8_E4M3"), SafetensorsError);
}

TEST_F(SafetensorsTest, MissingFileIsNamed) {
  const fs::path path = dir_ / "absent.safetensors";
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE();
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
  }
  EXPECT_THROW(SafetensorsFile::open(dir_), SafetensorsError);  // a folder
}

// A valid minimal file, to show the hostile cases below fail for their own reason.
TEST_F(SafetensorsTest, MinimalFilesAreAccepted) {
  const auto path = write_raw("ok.safetensors",
                              file_bytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8));
  EXPECT_EQ(SafetensorsFile::open(path).tensors().size(), 1u);
  const auto empty = write_raw("empty.safetensors", file_bytes("{}      ", 0));
  EXPECT_TRUE(SafetensorsFile::open(empty).tensors().empty());
  // Zero-sized tensors may share an offset with others.
  const auto zero = write_raw("zero.safetensors",
                              file_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                         4));
  EXPECT_EQ(SafetensorsFile::open(zero).tensors().size(), 2u);
}

TEST_F(SafetensorsTest, HostileFilesAreRejected) {
  const auto entry = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
  };
  expect_rejected("empty_file", "", {"too short"});
  expect_rejected("truncated_length", std::string(5, '\x10'), {"too short"});
  expect_rejected("length_beyond_file", file_bytes(1000, "{}", 0), {"exceeds the file size"});
  expect_rejected("huge_length", file_bytes(std::uint64_t{1} << 62, "{}", 0), {"100 MB"});
  expect_rejected("length_200mb", file_bytes(200'000'000, "{}", 0), {"100 MB"});
  expect_rejected("max_length", file_bytes(~std::uint64_t{0}, "{}", 0), {"100 MB"});
  expect_rejected("tiny_length", file_bytes(1, "{", 0), {"too small"});
  expect_rejected("invalid_json", file_bytes(R"({"t": {"dtype": "F32",)", 0), {"not valid JSON"});
  expect_rejected("not_object", file_bytes("[1, 2, 3]", 0), {"not a JSON object"});
  expect_rejected("string_header", file_bytes(R"("text")", 0), {"not a JSON object"});
  expect_rejected("entry_not_object", file_bytes(R"({"weird": 5})", 0), {"'weird'", "not an object"});
  expect_rejected("unknown_dtype", file_bytes(R"({"t1": )" + entry("F8", "[2]", "[0,2]") + "}", 2),
                  {"'t1'", "unknown dtype 'F8'"});
  expect_rejected("dtype_not_string", file_bytes(R"({"t1": {"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4),
                  {"'t1'", "dtype"});
  expect_rejected("shape_bytes_mismatch", file_bytes(R"({"w": )" + entry("F32", "[2,3]", "[0,20]") + "}", 24),
                  {"'w'", "needs 24 bytes"});
  expect_rejected("offsets_beyond_file", file_bytes(R"({"w": )" + entry("F32", "[4]", "[0,16]") + "}", 8),
                  {"'w'", "beyond the data section"});
  expect_rejected("begin_after_end", file_bytes(R"({"w": )" + entry("U8", "[0]", "[8,4]") + "}", 8),
                  {"'w'", "begin 8 > end 4"});
  expect_rejected("offsets_one_value", file_bytes(R"({"w": )" + entry("U8", "[4]", "[4]") + "}", 8),
                  {"'w'", "data_offsets"});
  expect_rejected("offsets_negative", file_bytes(R"({"w": )" + entry("U8", "[4]", "[-4,0]") + "}", 8),
                  {"'w'", "data_offsets"});
  expect_rejected("overlap",
                  file_bytes(R"({"first": )" + entry("F32", "[2]", "[0,8]") + R"(, "second": )" +
                                 entry("F32", "[2]", "[4,12]") + "}",
                             12),
                  {"'second'", "overlaps", "'first'"});
  expect_rejected("overlap_same_range",
                  file_bytes(R"({"a": )" + entry("F32", "[2]", "[0,8]") + R"(, "b": )" +
                                 entry("F32", "[2]", "[0,8]") + "}",
                             8),
                  {"overlaps"});
  expect_rejected("negative_dim", file_bytes(R"({"neg": )" + entry("F32", "[-1,4]", "[0,0]") + "}", 0),
                  {"'neg'", "-1"});
  expect_rejected("fractional_dim", file_bytes(R"({"frac": )" + entry("F32", "[1.5]", "[0,4]") + "}", 4),
                  {"'frac'", "not a non-negative integer"});
  expect_rejected("string_dim", file_bytes(R"({"str": )" + entry("F32", R"(["2"])", "[0,8]") + "}", 8),
                  {"'str'"});
  expect_rejected("overflow_dims",
                  file_bytes(R"({"big": )" + entry("F32", "[4294967296,4294967296]", "[0,0]") + "}", 0),
                  {"'big'", "too many elements"});
  expect_rejected("overflow_bytes",
                  file_bytes(R"({"big": )" + entry("F64", "[4611686018427387904]", "[0,0]") + "}", 0),
                  {"'big'", "too many bytes"});
  expect_rejected("dim_beyond_u64",
                  file_bytes(R"({"big": )" + entry("F32", "[99999999999999999999999]", "[0,0]") + "}", 0),
                  {"'big'"});
  expect_rejected("bad_utf8_name",
                  file_bytes("{\"bad\xff\xfename\": " + entry("U8", "[1]", "[0,1]") + "}", 1),
                  {"not valid UTF-8", "bad\\xff\\xfename"});
  expect_rejected("overlong_utf8_name", file_bytes("{\"x\xc0\xaf\": " + entry("U8", "[1]", "[0,1]") + "}", 1),
                  {"not valid UTF-8"});
  expect_rejected("surrogate_utf8_name",
                  file_bytes("{\"x\xed\xa0\x80\": " + entry("U8", "[1]", "[0,1]") + "}", 1),
                  {"not valid UTF-8"});
  expect_rejected("escaped_lone_surrogate",
                  file_bytes(R"({"x\ud800": )" + entry("U8", "[1]", "[0,1]") + "}", 1), {"not valid JSON"});
  expect_rejected("metadata_not_string",
                  file_bytes(R"({"__metadata__": {"format": "pt", "epochs": 3}})", 0),
                  {"__metadata__", "'epochs'", "not a string"});
  expect_rejected("metadata_not_object", file_bytes(R"({"__metadata__": ["pt"]})", 0), {"__metadata__"});
  expect_rejected("duplicate_tensor",
                  file_bytes(R"({"dup": )" + entry("U8", "[1]", "[0,1]") + R"(, "dup": )" +
                                 entry("U8", "[1]", "[1,2]") + "}",
                             2),
                  {"'dup'", "more than once"});
  expect_rejected("duplicate_field", file_bytes(R"({"t": {"dtype":"U8","dtype":"F32","shape":[1],)"
                                                R"("data_offsets":[0,1]}})",
                                                1),
                  {"'dtype'", "more than once"});
  expect_rejected("deep_nesting", file_bytes(std::string(100000, '[') + std::string(100000, ']'), 0),
                  {"nests deeper"});
  expect_rejected("deep_nesting_unclosed", file_bytes(std::string(100000, '['), 0), {"nests deeper"});
}

TEST(SafetensorsFixture, ReadsTinySd1CheckpointHeader) {
  const fs::path path = diffgraph::testing::fixtures_dir() / "tiny_sd1" / "model.safetensors";
  if (!fs::exists(path)) GTEST_SKIP() << "fixture not found: " << path;
  const auto file = SafetensorsFile::open(path);
  ASSERT_GT(file.tensors().size(), 0u);
  std::size_t f16 = 0;
  for (const auto& tensor : file.tensors()) {
    EXPECT_EQ(tensor.byte_size(), static_cast<std::uint64_t>(tensor.numel()) * dtype_size(tensor.dtype)) << tensor.name;
    EXPECT_EQ(file.bytes(tensor).size(), tensor.byte_size());
    if (tensor.dtype == Dtype::F16) ++f16;
  }
  EXPECT_GT(f16, 0u) << "the checkpoint stores its weights as F16";
  const TensorInfo* betas = file.find("betas");
  ASSERT_NE(betas, nullptr);
  EXPECT_EQ(betas->dtype, Dtype::F32);
  EXPECT_EQ(betas->shape, (std::vector<std::int64_t>{1000}));
}

}  // namespace
