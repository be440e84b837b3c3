/// @file progress.hpp
/// Showing a run as it happens: a live progress line on a terminal, plain lines in logs, or
/// one JSON object per event for programs (`run --json-events`).
#pragma once

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <diffgraph/executor.hpp>

namespace diffgraph::cli {

/// What happened to which node, gathered from the events, so a run that fails or is cancelled
/// can still say what it did.
struct RunTally {
  std::vector<std::string> executed, cached, failed;
  std::set<std::string> warned;  ///< nodes whose warnings were already shown live

  void record(const NodeEvent& event);
};

/// Shows events to a person on `out` (stderr). On a terminal one line is redrawn in place:
/// the running node's id and type, and for nodes that report progress a step bar
/// `[#########-----------] 12/20`; finished, cached and failed nodes leave a line each.
/// Otherwise (a log file, a pipe) every event is a plain line, with progress lines thinned
/// to every tenth of the way so long runs stay readable.
class ProgressDisplay {
 public:
  ProgressDisplay(std::FILE* out, bool terminal);
  void on_event(const NodeEvent& event);
  /// Erases the live line, so what follows (errors, results) starts on a clean line.
  void clear_line();

 private:
  void draw_live(const std::string& text);
  void print_line(const std::string& text);

  std::FILE* out_;
  bool terminal_;
  bool live_line_ = false;
  std::string live_text_;
  int last_tenth_ = -1;
  std::chrono::steady_clock::time_point node_start_;
};

/// The JSON object for one event: {"kind", "node", "type", "step", "total", "message",
/// "seconds"} — every field always present, so consumers need no special cases.
nlohmann::ordered_json event_json(const NodeEvent& event);

/// Writes one JSON object on one line of `out` and flushes it, so a reading program sees each
/// event as it happens. Invalid UTF-8 in messages is replaced rather than aborting the run.
void write_json_line(std::FILE* out, const nlohmann::ordered_json& object);

/// True when stderr is a terminal (and TERM is not "dumb"): the live display is used then.
bool stderr_is_terminal();

}  // namespace diffgraph::cli
