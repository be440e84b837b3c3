// Files around the document: PNG workflows, recent files, backups of unsaved changes.
#include "diffgraph/editor/workflow_files.hpp"

#include <diffgraph/workflow_file.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <diffgraph/errors.hpp>

#include "diffgraph/editor/document.hpp"

namespace diffgraph::editor {

using nlohmann::json;

namespace {

std::string read_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error("cannot read " + path.string() + ": it is a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// FNV-1a: a stable, short name for a document path.
std::string path_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(h));
  return buffer;
}

std::filesystem::path normalised(const std::filesystem::path& path) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  return (ec ? path : absolute).lexically_normal();
}

bool process_alive(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace

std::filesystem::path config_dir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "diffgraph";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".config" / "diffgraph";
  return std::filesystem::temp_directory_path() / "diffgraph-config";
}

Graph read_workflow_file(const std::filesystem::path& path) {
  const std::string data = read_bytes(path);
  const std::span<const std::byte> view(reinterpret_cast<const std::byte*>(data.data()), data.size());
  if (is_png(view)) return parse_graph(png_workflow_text(view, path.string()), path.string());
  return parse_graph(data, path.string());
}

// ==================================================================== recent files

RecentFiles::RecentFiles(std::filesystem::path file, std::size_t limit) : file_(std::move(file)), limit_(limit) {
  reload();
}

void RecentFiles::reload() {
  entries_.clear();
  std::ifstream in(file_);
  if (!in) return;
  try {
    json list = json::parse(in);
    if (!list.is_array()) return;
    for (const auto& item : list)
      if (item.is_string() && entries_.size() < limit_) entries_.emplace_back(item.get<std::string>());
  } catch (const json::exception&) {
    entries_.clear();  // an unreadable list is an empty one: it is only a convenience
  }
}

void RecentFiles::add(const std::filesystem::path& path) {
  reload();  // another window may have added files since
  const std::filesystem::path entry = normalised(path);
  entries_.erase(std::remove(entries_.begin(), entries_.end(), entry), entries_.end());
  entries_.insert(entries_.begin(), entry);
  if (entries_.size() > limit_) entries_.resize(limit_);
  write();
}

void RecentFiles::remove(const std::filesystem::path& path) {
  reload();
  const std::filesystem::path entry = normalised(path);
  entries_.erase(std::remove(entries_.begin(), entries_.end(), entry), entries_.end());
  write();
}

void RecentFiles::clear() {
  entries_.clear();
  write();
}

void RecentFiles::prune_missing() {
  reload();
  std::error_code ec;
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const std::filesystem::path& p) { return !std::filesystem::exists(p, ec); }),
                 entries_.end());
  write();
}

void RecentFiles::write() const {
  json list = json::array();
  for (const auto& entry : entries_) list.push_back(entry.string());
  // Best effort: a read-only config folder must not stop anyone from opening files.
  try {
    std::filesystem::create_directories(file_.parent_path());
    write_file_atomically(file_, list.dump(2) + "\n");
  } catch (const std::exception&) {
  }
}

// ==================================================================== backups

AutoBackup::AutoBackup(std::filesystem::path folder, std::chrono::milliseconds interval)
    : folder_(std::move(folder)), interval_(interval), last_write_(Clock::now()) {
  static std::atomic<int> untitled_count{0};
  untitled_name_ = "untitled-" + std::to_string(::getpid()) + "-" + std::to_string(++untitled_count) + ".json";
}

AutoBackup::~AutoBackup() = default;

std::filesystem::path AutoBackup::backup_file_for(const Document& document) const {
  if (document.path().empty()) return folder_ / untitled_name_;
  const std::filesystem::path path = normalised(document.path());
  return folder_ / (path.stem().string() + "-" + path_hash(path.string()) + ".json");
}

bool AutoBackup::tick(const Document& document, Clock::time_point now) {
  try {
    if (!document.dirty()) {
      if (has_written_) discard(document);
      return false;
    }
    if (has_written_ && written_revision_ == document.content_revision() && written_file_ == backup_file_for(document))
      return false;
    if (now - last_write_ < interval_) return false;
    write_now(document);
    last_write_ = now;
    return true;
  } catch (const std::exception& e) {
    last_error_ = e.what();
    last_write_ = now;  // retry after the next interval, not every frame
    return false;
  }
}

void AutoBackup::write_now(const Document& document) {
  const std::filesystem::path file = backup_file_for(document);
  json backup;
  backup["diffgraph_backup"] = 1;
  backup["document"] = document.path().empty() ? std::string() : normalised(document.path()).string();
  backup["saved_at"] = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  backup["pid"] = static_cast<int>(::getpid());
  backup["workflow"] = graph_to_json(document.to_graph());
  std::error_code ec;
  std::filesystem::create_directories(folder_, ec);
  if (ec) throw Error("cannot create the backup folder " + folder_.string() + ": " + ec.message());
  write_file_atomically(file, backup.dump(1) + "\n");
  // The document was saved under another name since the last backup: the old one is stale.
  if (has_written_ && written_file_ != file) std::filesystem::remove(written_file_, ec);
  written_file_ = file;
  written_revision_ = document.content_revision();
  has_written_ = true;
  last_error_.clear();
}

void AutoBackup::discard(const Document& document) {
  std::error_code ec;
  std::filesystem::remove(backup_file_for(document), ec);
  if (has_written_) std::filesystem::remove(written_file_, ec);
  has_written_ = false;
}

std::vector<BackupEntry> AutoBackup::list(const std::filesystem::path& folder) {
  std::vector<BackupEntry> out;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(folder, ec)) {
    if (!item.is_regular_file() || item.path().extension() != ".json") continue;
    try {
      std::ifstream in(item.path());
      json backup = json::parse(in);
      if (!backup.is_object() || backup.value("diffgraph_backup", 0) != 1 || !backup.contains("workflow")) continue;
      BackupEntry entry;
      entry.backup_file = item.path();
      entry.document_path = backup.value("document", std::string());
      entry.saved_at = std::chrono::system_clock::time_point(std::chrono::seconds(backup.value("saved_at", std::int64_t{0})));
      entry.pid = backup.value("pid", 0);
      entry.writer_running = entry.pid != ::getpid() && process_alive(entry.pid);
      out.push_back(std::move(entry));
    } catch (const json::exception&) {
      // Not a backup we can read: leave it alone.
    }
  }
  std::sort(out.begin(), out.end(), [](const BackupEntry& a, const BackupEntry& b) { return a.saved_at > b.saved_at; });
  return out;
}

void AutoBackup::restore(const BackupEntry& entry, Document& document) {
  const std::string text = read_bytes(entry.backup_file);
  json backup;
  try {
    backup = json::parse(text);
  } catch (const json::exception& e) {
    throw GraphError(entry.backup_file.string(), {Diagnostic{"", "", std::string("unreadable backup: ") + e.what()}});
  }
  if (!backup.is_object() || !backup.contains("workflow"))
    throw GraphError(entry.backup_file.string(), {Diagnostic{"", "", "not a diffgraph backup (no \"workflow\")"}});
  Graph graph = parse_graph(backup["workflow"].dump(), entry.backup_file.string());
  document.load(graph, entry.document_path, /*dirty=*/true);
}

void AutoBackup::remove(const BackupEntry& entry) {
  std::error_code ec;
  std::filesystem::remove(entry.backup_file, ec);
}

}  // namespace diffgraph::editor
