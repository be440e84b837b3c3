#include "diffgraph/graph.hpp"

#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diffgraph/errors.hpp"

namespace diffgraph {

const GraphNode* Graph::find(std::string_view id) const {
  auto it = nodes.find(std::string(id));
  return it == nodes.end() ? nullptr : &it->second;
}

GraphNode* Graph::find(std::string_view id) {
  auto it = nodes.find(std::string(id));
  return it == nodes.end() ? nullptr : &it->second;
}

Literal parse_literal_text(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  std::int64_t integer = 0;
  if (auto [ptr, ec] = std::from_chars(begin, end, integer); ec == std::errc() && ptr == end && !text.empty())
    return integer;
  double number = 0;
  if (auto [ptr, ec] = std::from_chars(begin, end, number); ec == std::errc() && ptr == end && !text.empty())
    return number;
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    try {
      return nlohmann::json::parse(text).get<std::string>();
    } catch (const nlohmann::json::exception&) {
    }
  }
  return std::string(text);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string pattern = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) throw Error("cannot create a temporary file next to " + path.string() + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(pattern.c_str());
      throw Error("cannot write " + path.string() + ": " + std::strerror(err));
    }
    written += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(pattern.c_str());
    throw Error("cannot write " + path.string() + ": " + std::strerror(err));
  }
  if (::rename(pattern.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(pattern.c_str());
    throw Error("cannot replace " + path.string() + ": " + std::strerror(err));
  }
}

}  // namespace diffgraph
