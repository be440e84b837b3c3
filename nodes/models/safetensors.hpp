// safetensors.hpp — a torch-free, hostile-input-safe reader of .safetensors files.
//
// Layout (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes; offsets are relative to the end of the header.
// The file is memory-mapped and tensors are read lazily, so opening a multi-GB checkpoint
// costs only the header parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace diffgraph::models {

/// Element types a safetensors file may hold.
enum class Dtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

/// "F32" → Dtype::F32; throws SafetensorsError for an unknown name.
Dtype dtype_from_name(std::string_view name);
std::string_view dtype_name(Dtype dtype);
std::size_t dtype_size(Dtype dtype);

/// Any problem with a safetensors file. The message names the file and, where one is
/// involved, the tensor.
class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One tensor's entry in the header. `begin`/`end` are absolute byte offsets in the file.
struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  std::int64_t numel() const;
  std::uint64_t byte_size() const { return end - begin; }
};

/// The parsed header of a safetensors file: tensors sorted by name, and the metadata map.
struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
};

/// Parses and checks a header against the whole file's bytes (no I/O; the fuzz target calls
/// this). Checks: header length within the file and below 100 MB, valid UTF-8 JSON object,
/// known dtypes, non-negative dims whose product × dtype size equals the byte range without
/// overflow, ranges inside the data section and not overlapping. `file_name` is used in messages.
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes,
                                           std::string_view file_name);

/// A memory-mapped safetensors file. Cheap to move; the mapping lives as long as the object.
class SafetensorsFile {
 public:
  /// Opens and maps `path`, parses its header. Throws SafetensorsError (missing file, bad header…).
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  const std::vector<TensorInfo>& tensors() const;
  const std::map<std::string, std::string>& metadata() const;
  /// The tensor called `name`, or nullptr.
  const TensorInfo* find(std::string_view name) const;
  /// The tensor called `name`; throws SafetensorsError naming the file and tensor if absent.
  const TensorInfo& at(std::string_view name) const;
  /// The raw little-endian bytes of `tensor` (which must come from this file).
  std::span<const std::byte> bytes(const TensorInfo& tensor) const;

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

 private:
  struct Mapping;
  SafetensorsFile() = default;
  std::unique_ptr<Mapping> mapping_;
  std::filesystem::path path_;
  SafetensorsHeader header_;
};

/// A tensor to write: raw little-endian bytes plus its header fields.
struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;
};

/// Writes a safetensors file atomically (a temporary file in the same folder, then rename), so a
/// crash never leaves a half-written file in place of an existing one. Keys are written in
/// sorted order, the header padded to a multiple of 8.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace diffgraph::models
