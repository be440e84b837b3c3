// Reading a workflow from a JSON file or from the text chunk of a PNG saved by diffgraph.
//
// PNG layout: an 8-byte signature, then chunks of [4-byte big-endian length][4-byte type]
// [data][4-byte CRC-32 of type+data], ending with IEND. Only the chunk framing and the three
// text chunk kinds are read here, so the engine needs no image library.
#include "diffgraph/workflow_file.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <vector>

#include <zlib.h>

#include <diffgraph/errors.hpp>

namespace diffgraph {

namespace {

constexpr std::array<unsigned char, 8> kPngSignature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// A decompressed text chunk larger than this is refused: workflows are kilobytes, and a
// hostile image must not make us allocate gigabytes.
constexpr std::size_t kMaxWorkflowBytes = std::size_t{64} << 20;

[[noreturn]] void corrupt(std::string_view source, const std::string& message) {
  throw GraphError(std::string(source), {Diagnostic{"", "", message}});
}

std::uint32_t read_be32(const std::byte* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

// CRC-32 (ISO 3309, as PNG specifies), table-driven.
std::uint32_t crc32_of(std::span<const std::byte> bytes) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xffffffffu;
  for (std::byte b : bytes) crc = table[(crc ^ std::to_integer<std::uint32_t>(b)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

std::string inflate_text(std::span<const std::byte> data, std::string_view source, const std::string& chunk) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) corrupt(source, "cannot initialise zlib to read the " + chunk + " chunk");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::array<char, 16384> buffer;
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) break;
    out.append(buffer.data(), buffer.size() - stream.avail_out);
    if (out.size() > kMaxWorkflowBytes) {
      inflateEnd(&stream);
      corrupt(source, "the compressed " + chunk + " chunk expands to more than 64 MiB");
    }
  }
  inflateEnd(&stream);
  if (status != Z_STREAM_END) corrupt(source, "the compressed " + chunk + " chunk is corrupt (zlib error " + std::to_string(status) + ")");
  return out;
}

// The text of a tEXt/zTXt/iTXt chunk if its keyword is "workflow".
std::optional<std::string> workflow_in_text_chunk(std::string_view type, std::span<const std::byte> data,
                                                  std::string_view source) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  const std::size_t keyword_end = text.find('\0');
  if (keyword_end == std::string_view::npos) corrupt(source, "a " + std::string(type) + " chunk has no keyword terminator");
  if (text.substr(0, keyword_end) != kPngWorkflowKeyword) return std::nullopt;
  std::size_t pos = keyword_end + 1;
  const std::string chunk = std::string(type) + " \"workflow\"";
  if (type == "tEXt") return std::string(text.substr(pos));
  if (type == "zTXt") {
    if (pos >= text.size() || text[pos] != 0) corrupt(source, "the " + chunk + " chunk uses an unknown compression method");
    return inflate_text(data.subspan(pos + 1), source, chunk);
  }
  // iTXt: compression flag, compression method, language tag\0, translated keyword\0, text.
  if (pos + 2 > text.size()) corrupt(source, "the " + chunk + " chunk is truncated");
  const bool compressed = text[pos] != 0;
  if (compressed && text[pos + 1] != 0) corrupt(source, "the " + chunk + " chunk uses an unknown compression method");
  pos += 2;
  for (int field = 0; field < 2; ++field) {
    const std::size_t end = text.find('\0', pos);
    if (end == std::string_view::npos) corrupt(source, "the " + chunk + " chunk is truncated");
    pos = end + 1;
  }
  if (compressed) return inflate_text(data.subspan(pos), source, chunk);
  return std::string(text.substr(pos));
}

}  // namespace

bool is_png(std::span<const std::byte> bytes) {
  return bytes.size() >= kPngSignature.size() &&
         std::memcmp(bytes.data(), kPngSignature.data(), kPngSignature.size()) == 0;
}

std::string png_workflow_text(std::span<const std::byte> png, std::string_view source) {
  if (!is_png(png)) corrupt(source, "not a PNG file (bad signature)");
  std::size_t offset = kPngSignature.size();
  while (offset < png.size()) {
    if (png.size() - offset < 12) corrupt(source, "truncated PNG: incomplete chunk header at byte " + std::to_string(offset));
    const std::uint32_t length = read_be32(png.data() + offset);
    const std::string type(reinterpret_cast<const char*>(png.data() + offset + 4), 4);
    const std::string where = "chunk " + type + " at byte " + std::to_string(offset);
    if (length > 0x7fffffffu || png.size() - offset - 12 < length)
      corrupt(source, "truncated PNG: " + where + " declares " + std::to_string(length) + " bytes past the end of the file");
    const auto type_and_data = png.subspan(offset + 4, 4 + std::size_t{length});
    const std::uint32_t stored_crc = read_be32(png.data() + offset + 8 + length);
    if (crc32_of(type_and_data) != stored_crc) corrupt(source, "corrupt PNG: CRC mismatch in " + where);
    const auto data = type_and_data.subspan(4);
    if (type == "tEXt" || type == "zTXt" || type == "iTXt") {
      if (auto text = workflow_in_text_chunk(type, data, source)) return std::move(*text);
    }
    if (type == "IEND") break;
    offset += 12 + std::size_t{length};
  }
  corrupt(source, "the PNG holds no workflow (no text chunk with the keyword \"workflow\")");
}

Graph load_workflow_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw std::runtime_error("cannot read " + path.string() + ": it is a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("cannot read " + path.string());
  const std::span<const std::byte> view(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  if (is_png(view)) return parse_graph(png_workflow_text(view, path.string()), path.string());
  return parse_graph(std::string_view(bytes.data(), bytes.size()), path.string());
}

}  // namespace diffgraph
