// SaveText: writes a text to the output folder under a new numbered name, never replacing a
// file that is already there.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <diffgraph/plugin.hpp>

namespace diffgraph::basic {

NodeSpec save_text_node() {
  NodeSpec spec;
  spec.type = "SaveText";
  spec.display_name = "Save Text";
  spec.category = "text";
  spec.description = "Writes the text to <output>/<prefix>_00001.txt, taking the next free number.";
  spec.output_node = true;
  spec.inputs = {InputSpec::link("text", "STRING"), InputSpec::text("filename_prefix", "diffgraph")};
  spec.execute = [](NodeContext& ctx) {
    const std::string& text = ctx.get_string("text");
    const std::string& prefix = ctx.get_string("filename_prefix");
    if (prefix.empty() || prefix.find('/') != std::string::npos || prefix.find("..") != std::string::npos)
      throw NodeError("filename_prefix '" + prefix + "' must be a plain file name");
    const std::filesystem::path dir = ctx.environment().output_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw NodeError("cannot create output folder " + dir.string() + ": " + ec.message());
    for (int number = 1; number < 100000; ++number) {
      char name[32];
      std::snprintf(name, sizeof name, "_%05d.txt", number);
      const std::filesystem::path path = dir / (prefix + name);
      // O_EXCL claims the name atomically: two runs never write the same file.
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd < 0) {
        if (errno == EEXIST) continue;
        throw NodeError("cannot create " + path.string() + ": " + std::strerror(errno));
      }
      const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      ::close(fd);
      if (!ok) throw NodeError("cannot write " + path.string());
      ctx.add_result({{"file", path.string()}});
      return;
    }
    throw NodeError("no free file name for prefix '" + prefix + "' in " + dir.string());
  };
  return spec;
}

DIFFGRAPH_NODE(save_text_node);

}  // namespace diffgraph::basic
