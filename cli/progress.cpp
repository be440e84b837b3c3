// The run's progress display on a terminal or in a log, and the JSON event lines.
#include "progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace diffgraph::cli {

namespace {

constexpr int kBarWidth = 24;

std::string node_label(const NodeEvent& event) { return event.node_id + " (" + event.node_type + ")"; }

std::string step_bar(int step, int total) {
  const int clamped = std::clamp(step, 0, total);
  const int filled = total > 0 ? static_cast<int>(static_cast<long long>(clamped) * kBarWidth / total) : 0;
  return "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '-') + "]";
}

int terminal_columns(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

void RunTally::record(const NodeEvent& event) {
  switch (event.kind) {
    case NodeEvent::Kind::Finished: executed.push_back(event.node_id); break;
    case NodeEvent::Kind::Cached: cached.push_back(event.node_id); break;
    case NodeEvent::Kind::Failed: failed.push_back(event.node_id); break;
    case NodeEvent::Kind::Warning: warned.insert(event.node_id); break;
    default: break;
  }
}

ProgressDisplay::ProgressDisplay(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}

void ProgressDisplay::draw_live(const std::string& text) {
  live_text_ = text;
  // Cut to the terminal width: a wrapped line could not be redrawn in place.
  const std::size_t width = static_cast<std::size_t>(std::max(terminal_columns(out_) - 1, 10));
  fmt::print(out_, "\r\033[K{}", text.size() > width ? text.substr(0, width) : text);
  std::fflush(out_);
  live_line_ = true;
}

void ProgressDisplay::clear_line() {
  if (terminal_ && live_line_) {
    fmt::print(out_, "\r\033[K");
    std::fflush(out_);
  }
  live_line_ = false;
}

void ProgressDisplay::print_line(const std::string& text) {
  const bool redraw = terminal_ && live_line_;
  clear_line();
  fmt::print(out_, "{}\n", text);
  // A warning printed while a node runs must not erase that node's live line for good.
  if (redraw) draw_live(live_text_);
  std::fflush(out_);
}

void ProgressDisplay::on_event(const NodeEvent& event) {
  using Kind = NodeEvent::Kind;
  const auto now = std::chrono::steady_clock::now();
  switch (event.kind) {
    case Kind::Started:
      node_start_ = now;
      last_tenth_ = -1;
      if (terminal_) draw_live("running " + node_label(event));
      else print_line("started " + node_label(event));
      break;
    case Kind::Progress: {
      if (terminal_) {
        const double elapsed = std::chrono::duration<double>(now - node_start_).count();
        draw_live(fmt::format("running {} {} {}/{}  {:.1f}s", node_label(event), step_bar(event.step, event.total),
                              event.step, event.total, elapsed));
      } else {
        const int tenth = event.total > 0 ? event.step * 10 / event.total : 0;
        if (tenth != last_tenth_ || event.step >= event.total) {
          last_tenth_ = tenth;
          print_line(fmt::format("progress {} {}/{}", node_label(event), event.step, event.total));
        }
      }
      break;
    }
    case Kind::Finished:
      clear_line();
      print_line(fmt::format("finished {} in {:.3f}s", node_label(event), event.seconds));
      break;
    case Kind::Cached:
      print_line("cached " + node_label(event));
      break;
    case Kind::Failed:
      clear_line();
      print_line("failed " + node_label(event) + ": " + event.message);
      break;
    case Kind::Warning:
      print_line("warning " + node_label(event) + ": " + event.message);
      break;
  }
}

nlohmann::ordered_json event_json(const NodeEvent& event) {
  return {{"kind", to_string(event.kind)}, {"node", event.node_id},   {"type", event.node_type},
          {"step", event.step},            {"total", event.total},    {"message", event.message},
          {"seconds", event.seconds}};
}

void write_json_line(std::FILE* out, const nlohmann::ordered_json& object) {
  const std::string line = object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  fmt::print(out, "{}\n", line);
  std::fflush(out);
}

bool stderr_is_terminal() {
  if (!::isatty(STDERR_FILENO)) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);
}

}  // namespace diffgraph::cli
