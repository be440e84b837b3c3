#include "diffgraph/fingerprint.hpp"

#include <fstream>
#include <vector>

#include "diffgraph/errors.hpp"
#include "signature.hpp"

namespace diffgraph {

std::string file_fingerprint(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw NodeError("cannot read " + path.string() + ": " + ec.message());
  const auto mtime = std::filesystem::last_write_time(path, ec);
  if (ec) throw NodeError("cannot read " + path.string() + ": " + ec.message());

  std::ifstream in(path, std::ios::binary);
  if (!in) throw NodeError("cannot open " + path.string());
  SignatureHasher hasher;
  constexpr std::uintmax_t kWhole = 16u << 20, kEdge = 1u << 20;
  std::vector<char> buffer(std::min<std::uintmax_t>(size, size <= kWhole ? kWhole : kEdge));
  auto hash_range = [&](std::uintmax_t offset, std::uintmax_t length) {
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(buffer.data(), static_cast<std::streamsize>(length));
    hasher.add_bytes(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
  };
  if (size <= kWhole) {
    hash_range(0, size);
  } else {
    hash_range(0, kEdge);
    hash_range(size - kEdge, kEdge);
  }
  return std::to_string(size) + ":" + std::to_string(mtime.time_since_epoch().count()) + ":" +
         hasher.finish().hex();
}

}  // namespace diffgraph
