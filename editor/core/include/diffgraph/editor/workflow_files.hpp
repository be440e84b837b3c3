/// @file workflow_files.hpp
/// Files around the document: reading workflows from JSON or from PNG pictures saved by
/// diffgraph, the recent-files list, and the periodic backup of unsaved changes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <diffgraph/graph.hpp>
#include <diffgraph/workflow_file.hpp>

namespace diffgraph::editor {

class Document;

/// The editor's configuration folder: $XDG_CONFIG_HOME/diffgraph, else ~/.config/diffgraph
/// (not created here).
std::filesystem::path config_dir();

/// The engine's PNG workflow reading (diffgraph/workflow_file.hpp): `is_png(bytes)` and
/// `png_workflow_text(png, source)`, the text of the "workflow" text chunk SaveImage writes.
using diffgraph::is_png;
using diffgraph::png_workflow_text;

/// Reads a workflow file: `diffgraph/1` JSON, or a PNG (recognised by its signature) carrying
/// one. Throws Error when the file cannot be read, GraphError when it holds no valid workflow.
Graph read_workflow_file(const std::filesystem::path& path);

/// The most recently opened or saved files, newest first, persisted as a JSON array of paths
/// in `file` (default config_dir()/recent.json). Every change is written at once (atomically),
/// so two editor windows share the list; a missing or unreadable file is an empty list.
class RecentFiles {
 public:
  explicit RecentFiles(std::filesystem::path file = config_dir() / "recent.json", std::size_t limit = 12);

  /// Re-reads the file (another window may have changed it).
  void reload();
  /// Puts `path` (made absolute) first, dropping older duplicates and entries past the limit.
  void add(const std::filesystem::path& path);
  void remove(const std::filesystem::path& path);
  void clear();
  /// Removes entries whose file no longer exists.
  void prune_missing();
  const std::vector<std::filesystem::path>& entries() const { return entries_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  void write() const;
  std::filesystem::path file_;
  std::size_t limit_;
  std::vector<std::filesystem::path> entries_;
};

/// A backup found on start: offer to restore it.
struct BackupEntry {
  std::filesystem::path backup_file;
  std::filesystem::path document_path;   ///< the document it belongs to; empty when untitled
  std::chrono::system_clock::time_point saved_at;
  int pid = 0;                           ///< the editor process that wrote it
  bool writer_running = false;           ///< that process is still alive (another open window)
};

/// Periodic backup of unsaved changes, one file per open document in `folder` (default
/// config_dir()/backups): `<name>-<hash of the path>.json` for a saved document,
/// `untitled-<pid>-<n>.json` for an untitled one. Each holds the workflow plus the document's
/// path, time and writer pid. Call tick() every frame; call discard() after a save or when the
/// user closes without saving on purpose.
class AutoBackup {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AutoBackup(std::filesystem::path folder = config_dir() / "backups",
                      std::chrono::milliseconds interval = std::chrono::seconds(30));
  ~AutoBackup();
  AutoBackup(const AutoBackup&) = delete;
  AutoBackup& operator=(const AutoBackup&) = delete;

  /// Writes a backup when the document is dirty, has changed since the last backup and
  /// `interval` has passed since then (or since construction). Removes the backup when the
  /// document is clean. Returns true when it wrote one. Errors are not thrown (a backup must
  /// never break editing): the last one is kept in last_error().
  bool tick(const Document& document, Clock::time_point now = Clock::now());
  /// Writes the backup now, whatever the timers (dirty or not). Throws Error on failure.
  void write_now(const Document& document);
  /// Deletes this session's backup of `document` (after save, or an intended discard).
  void discard(const Document& document);
  /// The backup file tick() writes for `document`.
  std::filesystem::path backup_file_for(const Document& document) const;
  const std::string& last_error() const { return last_error_; }
  const std::filesystem::path& folder() const { return folder_; }

  /// Every backup in `folder`, newest first (unreadable files are skipped).
  static std::vector<BackupEntry> list(const std::filesystem::path& folder = config_dir() / "backups");
  /// Loads a backup into `document`: content from the backup, path = the original document's,
  /// marked dirty (so it is not mistaken for the saved file). Throws GraphError/Error.
  static void restore(const BackupEntry& entry, Document& document);
  /// Deletes a backup file (after restoring it or when the user declines).
  static void remove(const BackupEntry& entry);

 private:
  std::filesystem::path folder_;
  std::chrono::milliseconds interval_;
  Clock::time_point last_write_;
  std::uint64_t written_revision_ = 0;
  bool has_written_ = false;
  std::filesystem::path written_file_;
  std::string untitled_name_;
  std::string last_error_;
};

}  // namespace diffgraph::editor
