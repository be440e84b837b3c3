#include "file_names.hpp"

#include <diffgraph/fingerprint.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace diffgraph::nodes {

namespace fs = std::filesystem;

fs::path input_folder(const Environment& environment) {
  return environment.setting("input_dir", "input");
}

fs::path resolve_input_file(const std::string& name, const Environment& environment, std::string_view what) {
  if (name.empty()) throw NodeError("no " + std::string(what) + " file given");
  std::error_code ec;
  const fs::path given(name);
  if (fs::is_regular_file(given, ec)) return given;
  std::string looked = "'" + given.string() + "'";
  if (given.is_relative()) {
    const fs::path in_input = input_folder(environment) / given;
    if (fs::is_regular_file(in_input, ec)) return in_input;
    looked += " and '" + in_input.string() + "'";
  }
  if (fs::exists(given, ec)) throw NodeError(std::string(what) + " file '" + name + "' is not a regular file");
  throw NodeError(std::string(what) + " file '" + name + "' not found (looked for " + looked + ")");
}

std::vector<std::string> list_input_files(const Environment& environment, const std::vector<std::string>& extensions) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(input_folder(environment), ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string extension = it->path().extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (std::find(extensions.begin(), extensions.end(), extension) != extensions.end())
      names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// "<stem>_<digits>_..." → the number, or 0 for any other name.
long number_in_name(const std::string& name, const std::string& stem) {
  if (name.size() < stem.size() + 3 || name.compare(0, stem.size(), stem) != 0 || name[stem.size()] != '_') return 0;
  std::size_t i = stem.size() + 1, start = i;
  long number = 0;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) && i - start < 9)
    number = number * 10 + (name[i++] - '0');
  if (i == start || i >= name.size() || name[i] != '_') return 0;
  return number;
}

}  // namespace

NumberedOutputFiles::NumberedOutputFiles(const fs::path& folder, const std::string& prefix) {
  const fs::path relative(prefix);
  bool ok = !prefix.empty() && relative.is_relative() && relative.has_filename();
  for (const auto& part : relative)
    if (part == "..") ok = false;
  if (!ok)
    throw NodeError("filename_prefix '" + prefix +
                    "' must be a file name, optionally after sub-folders of the output folder (no '..')");
  folder_ = (folder / relative).parent_path();
  stem_ = relative.filename().string();

  std::error_code ec;
  fs::create_directories(folder_, ec);
  if (ec) throw NodeError("cannot create output folder '" + folder_.string() + "': " + ec.message());
  // Like ComfyUI, continue after the highest number present (deleting old files never makes a
  // later run reuse their numbers while higher ones exist).
  long highest = 0;
  for (fs::directory_iterator it(folder_, ec), end; !ec && it != end; it.increment(ec))
    highest = std::max(highest, number_in_name(it->path().filename().string(), stem_));
  next_ = highest + 1;
}

fs::path NumberedOutputFiles::claim(std::string_view suffix) {
  for (int attempt = 0; attempt < 100000; ++attempt, ++next_) {
    char number[24];
    std::snprintf(number, sizeof number, "_%05ld", next_);
    const fs::path path = folder_ / (stem_ + number + std::string(suffix));
    // O_EXCL makes the claim atomic: a concurrent writer gets EEXIST and moves on.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      throw NodeError("cannot create '" + path.string() + "': " + std::strerror(errno));
    }
    ::close(fd);
    ++next_;
    return path;
  }
  throw NodeError("no free file name for '" + stem_ + "' in '" + folder_.string() + "'");
}

void write_file_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  static std::atomic<unsigned> counter{0};
  const fs::path temporary = path.parent_path() / ("." + path.filename().string() + ".tmp-" +
                                                   std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::error_code ec;
  try {
    write(temporary);
  } catch (...) {
    fs::remove(temporary, ec);
    throw;
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(temporary, ec);
    throw NodeError("cannot move the written file into place as '" + path.string() + "': " + reason);
  }
}

FingerprintFn input_file_fingerprint(std::string input_name, std::string what) {
  return [input_name = std::move(input_name), what = std::move(what)](const std::map<std::string, Literal>& literals,
                                                                      const Environment& environment) {
    auto it = literals.find(input_name);
    if (it == literals.end() || !std::holds_alternative<std::string>(it->second)) return std::string();
    return file_fingerprint(resolve_input_file(std::get<std::string>(it->second), environment, what));
  };
}

}  // namespace diffgraph::nodes
