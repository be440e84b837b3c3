// safetensors.cpp — header parsing, memory mapping and atomic writing of .safetensors files.
//
// The header is untrusted input (checkpoints come from the internet), so every field is checked
// before any offset is used: a bad file must end in a SafetensorsError, never in an out-of-bounds
// read. parse_safetensors_header is pure (no I/O) so the fuzz target exercises exactly this code.
#include "safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace diffgraph::models {

namespace {

using json = nlohmann::json;

// The reference implementation refuses headers above 100 MB; a larger one is a hostile file.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::string_view kMetadataKey = "__metadata__";

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swapping");

struct DtypeEntry {
  Dtype dtype;
  std::string_view name;
  std::size_t size;
};

constexpr DtypeEntry kDtypes[] = {
    {Dtype::F64, "F64", 8}, {Dtype::F32, "F32", 4}, {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2}, {Dtype::I64, "I64", 8}, {Dtype::I32, "I32", 4},
    {Dtype::I16, "I16", 2}, {Dtype::I8, "I8", 1}, {Dtype::U8, "U8", 1},
    {Dtype::BOOL, "BOOL", 1},
};

const DtypeEntry& dtype_entry(Dtype dtype) {
  for (const auto& entry : kDtypes) {
    if (entry.dtype == dtype) return entry;
  }
  throw SafetensorsError("invalid Dtype value " + std::to_string(static_cast<int>(dtype)));
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is invalid (overlong
// forms, surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// Offset of the first invalid UTF-8 byte of `text`, or npos.
std::size_t find_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

// A printable rendering of untrusted text for error messages: bytes outside printable ASCII
// become \xNN, and long text is cut.
std::string printable(std::string_view text, std::size_t limit = 120) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > limit) out += "…";
  return out;
}

// The message prefix every error starts with, so the user knows which file is broken.
class ErrorContext {
 public:
  explicit ErrorContext(std::string_view file_name) : file_(file_name) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw SafetensorsError(std::string(file_) + ": invalid safetensors file: " + what);
  }
  [[noreturn]] void fail_tensor(std::string_view tensor, const std::string& what) const {
    fail("tensor '" + printable(tensor) + "': " + what);
  }

 private:
  std::string_view file_;
};

// The header text around a byte offset, as the JSON string that contains it: used to name the
// tensor whose name holds invalid UTF-8 (the JSON parser itself would only give a position).
std::string enclosing_string(std::string_view header, std::size_t offset) {
  std::size_t begin = header.rfind('"', offset);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  std::size_t end = header.find('"', offset);
  if (end == std::string_view::npos) end = header.size();
  return printable(header.substr(begin, end - begin));
}

std::uint64_t read_u64_le(std::span<const std::byte> bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | std::to_integer<std::uint64_t>(bytes[i]);
  return value;
}

// Thrown from the parse callback to stop at a header nested deeper than any valid one.
struct TooDeep {};

// Checks made while the JSON is parsed, through nlohmann's callback:
//  * nesting depth: a valid header is 3 levels deep (header → entry → shape); a crafted one could
//    nest thousands of levels, and nlohmann's serializer and copies recurse per level;
//  * duplicate keys: nlohmann silently keeps the last one, but a checkpoint with two entries of
//    one name is ambiguous, so the keys of each open object are tracked and a repeat reported.
struct HeaderParseChecks {
  static constexpr std::size_t kMaxDepth = 8;

  std::size_t depth = 0;
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;  // first repeated key
  std::size_t depth_of_duplicate = 0;

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (++depth > kMaxDepth) throw TooDeep{};
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        --depth;
        if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string()) {
          const auto& key = parsed.get_ref<const std::string&>();
          if (!open_objects.back().insert(key).second && duplicate.empty()) {
            duplicate = key;
            depth_of_duplicate = open_objects.size();
          }
        }
        break;
      default:
        break;
    }
    return true;
  }
};

json parse_header_json(std::string_view text, const ErrorContext& error) {
  if (const std::size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    error.fail("header byte " + std::to_string(bad) + " is not valid UTF-8, in the string \"" +
               enclosing_string(text, bad) + "\" (a tensor name or metadata text)");
  }
  HeaderParseChecks checks;
  json header;
  try {
    header = json::parse(text.begin(), text.end(), std::ref(checks), /*allow_exceptions=*/true,
                         /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    error.fail(std::string("header is not valid JSON: ") + e.what());
  } catch (const TooDeep&) {
    error.fail("header JSON nests deeper than " + std::to_string(HeaderParseChecks::kMaxDepth) + " levels");
  }
  const auto& duplicates = checks;
  if (!duplicates.duplicate.empty()) {
    if (duplicates.depth_of_duplicate == 1) {
      error.fail_tensor(duplicates.duplicate, "appears more than once in the header");
    }
    error.fail("header key '" + printable(duplicates.duplicate) + "' appears more than once");
  }
  return header;
}

std::uint64_t as_unsigned(const json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  throw std::invalid_argument("not a non-negative integer");
}

std::string json_text(const json& value) {
  // Dump with replacement so even odd values print; cut to keep messages short.
  return printable(value.dump(-1, ' ', false, json::error_handler_t::replace), 60);
}

TensorInfo parse_tensor_entry(const std::string& name, const json& entry, std::uint64_t data_start,
                              std::uint64_t data_size, const ErrorContext& error) {
  if (!entry.is_object()) error.fail_tensor(name, "entry is " + json_text(entry) + ", not an object");
  TensorInfo info;
  info.name = name;

  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) error.fail_tensor(name, "missing string 'dtype'");
  try {
    info.dtype = dtype_from_name(dtype->get_ref<const std::string&>());
  } catch (const SafetensorsError&) {
    error.fail_tensor(name, "unknown dtype '" + printable(dtype->get_ref<const std::string&>()) + "'");
  }

  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) error.fail_tensor(name, "missing array 'shape'");
  // The element count is kept below 2^63 so numel() fits in int64 and × dtype size is checked.
  std::uint64_t numel = 1;
  for (const auto& dim : *shape) {
    std::uint64_t extent = 0;
    try {
      extent = as_unsigned(dim);
    } catch (const std::invalid_argument&) {
      error.fail_tensor(name, "shape value " + json_text(dim) + " is not a non-negative integer");
    }
    if (extent > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      error.fail_tensor(name, "shape value " + std::to_string(extent) + " is too large");
    }
    info.shape.push_back(static_cast<std::int64_t>(extent));
    if (__builtin_mul_overflow(numel, extent, &numel) ||
        numel > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      error.fail_tensor(name, "shape " + json_text(*shape) + " has too many elements");
    }
  }
  std::uint64_t expected_bytes = 0;
  if (__builtin_mul_overflow(numel, dtype_size(info.dtype), &expected_bytes)) {
    error.fail_tensor(name, "shape " + json_text(*shape) + " has too many bytes");
  }

  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2) {
    error.fail_tensor(name, "missing 'data_offsets' [begin, end]");
  }
  std::uint64_t begin = 0, end = 0;
  try {
    begin = as_unsigned((*offsets)[0]);
    end = as_unsigned((*offsets)[1]);
  } catch (const std::invalid_argument&) {
    error.fail_tensor(name, "data_offsets " + json_text(*offsets) + " are not non-negative integers");
  }
  if (begin > end) {
    error.fail_tensor(name, "data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
  }
  if (end > data_size) {
    error.fail_tensor(name, "data_offsets end " + std::to_string(end) + " lies beyond the data section (" +
                                std::to_string(data_size) + " bytes; file truncated?)");
  }
  if (end - begin != expected_bytes) {
    error.fail_tensor(name, "shape " + json_text(*shape) + " of " + std::string(dtype_name(info.dtype)) +
                                " needs " + std::to_string(expected_bytes) + " bytes but data_offsets span " +
                                std::to_string(end - begin));
  }
  // Both offsets are ≤ data_size ≤ file size, so adding the start cannot overflow.
  info.begin = data_start + begin;
  info.end = data_start + end;
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& metadata, const ErrorContext& error) {
  if (!metadata.is_object()) error.fail("__metadata__ is " + json_text(metadata) + ", not an object");
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      error.fail("__metadata__ value of '" + printable(key) + "' is " + json_text(value) + ", not a string");
    }
    result.emplace(key, value.get<std::string>());
  }
  return result;
}

}  // namespace

Dtype dtype_from_name(std::string_view name) {
  for (const auto& entry : kDtypes) {
    if (entry.name == name) return entry.dtype;
  }
  throw SafetensorsError("unknown safetensors dtype '" + printable(name) + "'");
}

std::string_view dtype_name(Dtype dtype) { return dtype_entry(dtype).name; }

std::size_t dtype_size(Dtype dtype) { return dtype_entry(dtype).size; }

std::int64_t TensorInfo::numel() const {
  std::int64_t count = 1;
  for (const auto extent : shape) count *= extent;  // checked against overflow when parsed
  return count;
}

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes, std::string_view file_name) {
  const ErrorContext error(file_name);
  if (file_bytes.size() < 8) {
    error.fail("file is " + std::to_string(file_bytes.size()) + " bytes, too short for the 8-byte header length");
  }
  const std::uint64_t header_size = read_u64_le(file_bytes.first(8));
  if (header_size < 2) error.fail("header length " + std::to_string(header_size) + " is too small for a JSON object");
  if (header_size > kMaxHeaderBytes) {
    error.fail("header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  }
  if (header_size > file_bytes.size() - 8) {
    error.fail("header length " + std::to_string(header_size) + " exceeds the file size (" +
               std::to_string(file_bytes.size()) + " bytes including the 8-byte length; file truncated?)");
  }
  const std::string_view text(reinterpret_cast<const char*>(file_bytes.data()) + 8, header_size);
  const json header = parse_header_json(text, error);
  if (!header.is_object()) error.fail("header is " + json_text(header) + ", not a JSON object");

  const std::uint64_t data_start = 8 + header_size;
  const std::uint64_t data_size = file_bytes.size() - data_start;
  SafetensorsHeader result;
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      result.metadata = parse_metadata(entry, error);
      continue;
    }
    result.tensors.push_back(parse_tensor_entry(name, entry, data_start, data_size, error));
  }

  // Overlapping ranges would let two tensors alias the same bytes: a sign of a crafted file.
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(result.tensors.size());
  for (const auto& tensor : result.tensors) by_offset.push_back(&tensor);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const TensorInfo* previous = nullptr;  // the last non-empty range
  for (const TensorInfo* tensor : by_offset) {
    if (tensor->begin == tensor->end) continue;  // empty tensors occupy no bytes
    if (previous && tensor->begin < previous->end) {
      error.fail_tensor(tensor->name, "data range overlaps that of tensor '" + printable(previous->name) + "'");
    }
    previous = tensor;
  }

  // nlohmann's object is a std::map, so the tensors already come out sorted by name.
  return result;
}

// ---------------------------------------------------------------------------------------------
// SafetensorsFile

struct SafetensorsFile::Mapping {
  void* address = nullptr;
  std::size_t size = 0;

  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (address) ::munmap(address, size);
  }
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(address), size}; }
};

namespace {

std::string system_error_text(int error_number) { return std::strerror(error_number); }

// Closes a file descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  /// Closes now, reporting the error (close can report a failed delayed write).
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  FileDescriptor fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw SafetensorsError(name + ": cannot open: " + system_error_text(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw SafetensorsError(name + ": cannot stat: " + system_error_text(errno));
  if (!S_ISREG(info.st_mode)) throw SafetensorsError(name + ": not a regular file");

  auto mapping = std::make_unique<Mapping>();
  mapping->size = static_cast<std::size_t>(info.st_size);
  if (mapping->size > 0) {
    // MAP_PRIVATE + PROT_READ: the mapping is a read-only view; pages load on first access.
    void* address = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (address == MAP_FAILED) throw SafetensorsError(name + ": cannot mmap: " + system_error_text(errno));
    mapping->address = address;
  }

  SafetensorsFile file;
  file.header_ = parse_safetensors_header(mapping->bytes(), name);
  file.mapping_ = std::move(mapping);
  file.path_ = path;
  return file;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::filesystem::path& SafetensorsFile::path() const { return path_; }

const std::vector<TensorInfo>& SafetensorsFile::tensors() const { return header_.tensors; }

const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return header_.metadata; }

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto& tensors = header_.tensors;
  const auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                                   [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  if (const TensorInfo* info = find(name)) return *info;
  throw SafetensorsError(path_.string() + ": no tensor named '" + printable(name) + "'");
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorInfo& tensor) const {
  const auto all = mapping_ ? mapping_->bytes() : std::span<const std::byte>{};
  if (tensor.begin > tensor.end || tensor.end > all.size()) {
    throw SafetensorsError(path_.string() + ": tensor '" + printable(tensor.name) +
                           "' has a byte range outside this file");
  }
  return all.subspan(tensor.begin, tensor.end - tensor.begin);
}

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

void write_all(int fd, const char* data, std::size_t size, const std::string& name) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw SafetensorsError(name + ": write failed: " + system_error_text(errno));
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

std::string header_text(const std::vector<const TensorToWrite*>& sorted,
                        const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::uint64_t offset = 0;
  for (const TensorToWrite* tensor : sorted) {
    const std::uint64_t end = offset + tensor->data.size();
    json entry = json::object();
    entry["dtype"] = std::string(dtype_name(tensor->dtype));
    entry["shape"] = tensor->shape;
    entry["data_offsets"] = json::array({offset, end});
    header[tensor->name] = std::move(entry);
    offset = end;
  }
  std::string text = header.dump();
  // Padding to a multiple of 8 keeps the data section 8-byte aligned (the length prefix is 8).
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string name = path.string();
  const auto fail = [&](const std::string& what) { throw SafetensorsError(name + ": cannot write: " + what); };

  std::vector<const TensorToWrite*> sorted;
  for (const auto& tensor : tensors) sorted.push_back(&tensor);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const TensorToWrite& tensor = *sorted[i];
    const std::string label = "tensor '" + printable(tensor.name) + "'";
    if (i > 0 && sorted[i - 1]->name == tensor.name) fail(label + " is given twice");
    if (tensor.name == kMetadataKey) fail("'__metadata__' is reserved and cannot name a tensor");
    if (find_invalid_utf8(tensor.name) != std::string_view::npos) fail(label + ": name is not valid UTF-8");
    std::uint64_t numel = 1;
    for (const auto extent : tensor.shape) {
      if (extent < 0) fail(label + ": negative dimension " + std::to_string(extent));
      if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(extent), &numel)) {
        fail(label + ": shape has too many elements");
      }
    }
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(numel, dtype_size(tensor.dtype), &bytes) || bytes != tensor.data.size()) {
      fail(label + ": " + std::to_string(tensor.data.size()) + " data bytes do not match its shape and dtype " +
           std::string(dtype_name(tensor.dtype)));
    }
  }
  for (const auto& [key, value] : metadata) {
    if (find_invalid_utf8(key) != std::string_view::npos || find_invalid_utf8(value) != std::string_view::npos) {
      fail("metadata '" + printable(key) + "' is not valid UTF-8");
    }
  }

  const std::string header = header_text(sorted, metadata);
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((std::uint64_t{header.size()} >> (8 * i)) & 0xFF);

  // Write beside the target and rename over it: rename is atomic within a file system, so a
  // reader sees either the old file or the complete new one.
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::random_device entropy;
  const std::filesystem::path temporary =
      folder / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                std::to_string(entropy()));
  const std::string temporary_name = temporary.string();
  FileDescriptor fd(::open(temporary_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail("cannot create " + temporary_name + ": " + system_error_text(errno));
  try {
    write_all(fd.get(), length, sizeof length, name);
    write_all(fd.get(), header.data(), header.size(), name);
    for (const TensorToWrite* tensor : sorted) {
      write_all(fd.get(), reinterpret_cast<const char*>(tensor->data.data()), tensor->data.size(), name);
    }
    if (::fsync(fd.get()) != 0) fail("fsync failed: " + system_error_text(errno));
    if (fd.close() != 0) fail("close failed: " + system_error_text(errno));
    if (::rename(temporary_name.c_str(), name.c_str()) != 0) fail("rename failed: " + system_error_text(errno));
  } catch (...) {
    ::unlink(temporary_name.c_str());
    throw;
  }
  // Persist the rename itself; failure here leaves a complete file, so it is not an error.
  FileDescriptor directory(::open(folder.string().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() >= 0) ::fsync(directory.get());
}

}  // namespace diffgraph::models
