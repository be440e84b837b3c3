// Runs the built `diffgraph` binary as a subprocess on workflows written into temporary
// folders, and checks exit codes, output and files.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/safetensors.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// --- running the CLI ---------------------------------------------------------------------------

struct CliResult {
  int exit_code = -1;      ///< the status passed to exit(), when the process exited
  int signal = 0;          ///< the signal that killed it, otherwise
  std::string out, err;
};

std::ostream& operator<<(std::ostream& os, const CliResult& r) {
  return os << "exit " << r.exit_code << " signal " << r.signal << "\n--- stdout:\n" << r.out << "\n--- stderr:\n" << r.err;
}

// A running `diffgraph` with its stdout and stderr read through pipes (both drained together,
// so neither can fill up and block the child).
class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& args, const fs::path& cwd) {
    int out_pipe[2], err_pipe[2];
    if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out_pipe[1], STDOUT_FILENO);
      ::dup2(err_pipe[1], STDERR_FILENO);
      ::close(out_pipe[0]);
      ::close(err_pipe[0]);
      ::close(out_pipe[1]);
      ::close(err_pipe[1]);
      int null_fd = ::open("/dev/null", O_RDONLY);
      ::dup2(null_fd, STDIN_FILENO);
      if (::chdir(cwd.c_str()) != 0) ::_exit(127);
      std::vector<char*> argv;
      static std::string binary = DIFFGRAPH_CLI_BINARY;
      argv.push_back(binary.data());
      std::vector<std::string> copy = args;
      for (auto& arg : copy) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
  }
  ~CliProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }

  /// Reads output until `done(stdout so far)` holds or `timeout` passes; true if it held.
  bool read_until(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done(result_.out)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || !pump(static_cast<int>(left))) return done(result_.out);
    }
    return true;
  }

  void send(int signal) { ::kill(pid_, signal); }

  /// True while the process has not exited (it is reaped if it has).
  bool running() {
    if (reaped_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      record(status);
      return false;
    }
    return true;
  }

  /// Reads everything until both pipes close, then waits for the exit (killing it after `timeout`).
  CliResult finish(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto deadline = Clock::now() + timeout;
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        ::kill(pid_, SIGKILL);
        result_.err += "\n[test: killed after the timeout]";
        break;
      }
      pump(static_cast<int>(left));
    }
    if (!reaped_) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      record(status);
    }
    return result_;
  }

 private:
  // Waits up to `timeout_ms` for output and appends it; false when both pipes are closed.
  bool pump(int timeout_ms) {
    pollfd fds[2];
    int count = 0;
    if (out_fd_ >= 0) fds[count++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[count++] = {err_fd_, POLLIN, 0};
    if (count == 0) return false;
    if (::poll(fds, count, timeout_ms) <= 0) return true;
    for (int i = 0; i < count; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      const bool is_out = fds[i].fd == out_fd_;
      if (n <= 0) {
        ::close(fds[i].fd);
        (is_out ? out_fd_ : err_fd_) = -1;
      } else {
        (is_out ? result_.out : result_.err).append(buffer, static_cast<std::size_t>(n));
      }
    }
    return true;
  }
  void record(int status) {
    reaped_ = true;
    if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
  }

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  bool reaped_ = false;
  CliResult result_;
};

// --- workflows ---------------------------------------------------------------------------------

json link(const std::string& node, const std::string& output) { return {{"node", node}, {"output", output}}; }

json workflow(json nodes) { return {{"format", "diffgraph/1"}, {"nodes", std::move(nodes)}}; }

// 6 * 7 shown by a Display, and a text saved by SaveText.
json math_graph() {
  return workflow({
      {"1", {{"type", "Int"}, {"inputs", {{"value", 6}}}}},
      {"2", {{"type", "Int"}, {"inputs", {{"value", 7}}}}},
      {"3", {{"type", "IntMath"}, {"inputs", {{"a", link("1", "INT")}, {"b", link("2", "INT")}, {"op", "multiply"}}}}},
      {"4", {{"type", "Display"}, {"inputs", {{"value", link("3", "INT")}}}}},
      {"5", {{"type", "StringConcat"}, {"inputs", {{"a", "six times seven"}, {"b", "42"}, {"separator", " = "}}}}},
      {"6", {{"type", "SaveText"}, {"inputs", {{"text", link("5", "STRING")}, {"filename_prefix", "answer"}}}}},
  });
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(json::parse(line));
  return lines;
}

// --- PNG files with a workflow, built independently of the CLI's reader (zlib's CRC) -----------

void append_chunk(std::string& png, const std::string& type, const std::string& data) {
  auto be32 = [&](std::uint32_t v) {
    for (int shift : {24, 16, 8, 0}) png.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  be32(static_cast<std::uint32_t>(data.size()));
  const std::string body = type + data;
  png += body;
  be32(static_cast<std::uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

std::string zlib_compress(const std::string& data) {
  uLongf size = compressBound(data.size());
  std::string out(size, '\0');
  compress(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(data.data()), data.size());
  out.resize(size);
  return out;
}

// A 1x1 RGBA PNG with the given text chunks (type, payload).
std::string png_with_chunks(const std::vector<std::pair<std::string, std::string>>& text_chunks) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  append_chunk(png, "IHDR", std::string("\0\0\0\1\0\0\0\1\x08\x06\0\0\0", 13));
  for (const auto& [type, data] : text_chunks) append_chunk(png, type, data);
  append_chunk(png, "IDAT", zlib_compress(std::string("\0\xff\0\0\xff", 5)));
  append_chunk(png, "IEND", "");
  return png;
}

std::string text_chunk(const std::string& workflow_text) { return std::string("workflow") + '\0' + workflow_text; }

std::string compressed_itxt_chunk(const std::string& workflow_text) {
  // keyword\0, compression flag 1, method 0, language tag\0, translated keyword\0, zlib text.
  return std::string("workflow") + '\0' + '\1' + '\0' + "en" + '\0' + '\0' + zlib_compress(workflow_text);
}

// --- the fixture -------------------------------------------------------------------------------

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    dir_ = fs::temp_directory_path() / ("diffgraph-cli-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& contents) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  fs::path write_graph(const std::string& name, const json& graph) { return write(name, graph.dump(2)); }

  /// `diffgraph <args>` run in the test's folder; `run`, `validate`, `nodes`, `plugins` and `info` get both
  /// plugin folders.
  CliResult cli(std::vector<std::string> args) {
    CliProcess process(with_plugins(std::move(args)), dir_);
    return process.finish();
  }
  std::vector<std::string> with_plugins(std::vector<std::string> args) const {
    if (!args.empty() && (args[0] == "run" || args[0] == "validate" || args[0] == "nodes" || args[0] == "plugins" ||
                          args[0] == "info")) {
      args.insert(args.begin() + 1, {"--plugins", DIFFGRAPH_BASIC_PLUGIN_DIR, "--plugins", DIFFGRAPH_TEST_PLUGIN_DIR});
    }
    return args;
  }

  fs::path dir_;
};

// --- running -----------------------------------------------------------------------------------

TEST_F(CliTest, RunPrintsResultsAndSavesNumberedFilesWithoutOverwriting) {
  write_graph("math.json", math_graph());
  // A file that already has the first number must survive.
  fs::create_directories(dir_ / "out");
  write("out/answer_00001.txt", "keep me");

  const CliResult first = cli({"run", "math.json", "--output-dir", "out"});
  ASSERT_EQ(first.exit_code, 0) << first;
  EXPECT_NE(first.out.find("4 (Display) text: 42"), std::string::npos) << first;
  EXPECT_NE(first.out.find("out/answer_00002.txt"), std::string::npos) << first;
  EXPECT_NE(first.out.find("executed 6, cached 0"), std::string::npos) << first;

  const CliResult second = cli({"run", "math.json", "--output-dir", "out"});
  ASSERT_EQ(second.exit_code, 0) << second;
  EXPECT_NE(second.out.find("out/answer_00003.txt"), std::string::npos) << second;

  EXPECT_EQ(read_text(dir_ / "out/answer_00001.txt"), "keep me");
  EXPECT_EQ(read_text(dir_ / "out/answer_00002.txt"), "six times seven = 42");
  EXPECT_EQ(read_text(dir_ / "out/answer_00003.txt"), "six times seven = 42");
  EXPECT_FALSE(fs::exists(dir_ / "out/answer_00004.txt"));
}

TEST_F(CliTest, RunTwiceIntoAFreshFolderNumbersFromOne) {
  write_graph("math.json", math_graph());
  ASSERT_EQ(cli({"run", "math.json"}).exit_code, 0);
  ASSERT_EQ(cli({"run", "math.json"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "output/answer_00001.txt"));
  EXPECT_TRUE(fs::exists(dir_ / "output/answer_00002.txt"));
}

TEST_F(CliTest, NonTerminalProgressIsPlainLinesOnStderr) {
  write_graph("math.json", math_graph());
  const CliResult result = cli({"run", "math.json"});
  ASSERT_EQ(result.exit_code, 0) << result;
  EXPECT_NE(result.err.find("started 3 (IntMath)"), std::string::npos) << result;
  EXPECT_NE(result.err.find("finished 3 (IntMath)"), std::string::npos) << result;
  EXPECT_EQ(result.err.find('\r'), std::string::npos) << "no terminal redraws in a pipe";
  EXPECT_EQ(result.err.find("\033["), std::string::npos) << "no escape sequences in a pipe";
}

TEST_F(CliTest, SetChangesLiterals) {
  write_graph("math.json", math_graph());
  // 5 * 7; the STRING input takes "99" as text although it looks like a number.
  const CliResult result = cli({"run", "math.json", "--set", "1.value=5", "--set", "5.b=99"});
  ASSERT_EQ(result.exit_code, 0) << result;
  EXPECT_NE(result.out.find("4 (Display) text: 35"), std::string::npos) << result;
  EXPECT_EQ(read_text(dir_ / "output/answer_00001.txt"), "six times seven = 99");
}

TEST_F(CliTest, SetWithAnUnknownNodeIsAUsageErrorNamingIt) {
  write_graph("math.json", math_graph());
  const CliResult result = cli({"run", "math.json", "--set", "42.value=1"});
  EXPECT_EQ(result.exit_code, 2) << result;
  EXPECT_NE(result.err.find("no node '42'"), std::string::npos) << result;
  EXPECT_FALSE(fs::exists(dir_ / "output"));
}

TEST_F(CliTest, MalformedSetIsAUsageError) {
  write_graph("math.json", math_graph());
  const CliResult result = cli({"run", "math.json", "--set", "novalue"});
  EXPECT_EQ(result.exit_code, 2) << result;
  EXPECT_NE(result.err.find("NODE.INPUT=VALUE"), std::string::npos) << result;
}

TEST_F(CliTest, SetWithAnUnknownInputIsReportedByValidation) {
  write_graph("math.json", math_graph());
  const CliResult result = cli({"run", "math.json", "--set", "1.valu=3"});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_NE(result.err.find("unknown input 'valu'"), std::string::npos) << result;
}

TEST_F(CliTest, WarningsArePrinted) {
  write_graph("warn.json", workflow({{"1", {{"type", "WarnText"}, {"inputs", {{"text", "mind the gap"}}}}}}));
  const CliResult result = cli({"run", "warn.json"});
  ASSERT_EQ(result.exit_code, 0) << result;
  EXPECT_NE(result.err.find("warning 1 (WarnText): mind the gap"), std::string::npos) << result;
  EXPECT_NE(result.out.find("1 (WarnText) text: mind the gap"), std::string::npos) << result;
}

TEST_F(CliTest, JsonEventsAreOneObjectPerLineEndingWithASummary) {
  write_graph("slow.json", workflow({{"1", {{"type", "SlowCount"}, {"inputs", {{"steps", 3}, {"step_ms", 0}}}}}}));
  const CliResult result = cli({"run", "slow.json", "--json-events"});
  ASSERT_EQ(result.exit_code, 0) << result;
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 6u) << result;  // started, 3 progress, finished, summary
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    for (const char* key : {"kind", "node", "type", "step", "total", "message", "seconds"})
      EXPECT_TRUE(lines[i].contains(key)) << lines[i];
    EXPECT_EQ(lines[i]["node"], "1");
    EXPECT_EQ(lines[i]["type"], "SlowCount");
  }
  EXPECT_EQ(lines[0]["kind"], "started");
  EXPECT_EQ(lines[1]["kind"], "progress");
  EXPECT_EQ(lines[1]["step"], 1);
  EXPECT_EQ(lines[3]["step"], 3);
  EXPECT_EQ(lines[3]["total"], 3);
  EXPECT_EQ(lines[4]["kind"], "finished");
  const json& summary = lines[5];
  EXPECT_EQ(summary["kind"], "summary");
  EXPECT_EQ(summary["status"], "ok");
  EXPECT_EQ(summary["exit_code"], 0);
  EXPECT_EQ(summary["executed"], json::array({"1"}));
  EXPECT_EQ(summary["cached"], json::array());
  EXPECT_EQ(summary["failed"], json::array());
  EXPECT_EQ(summary["results"]["1"], json::array({{{"counted", 3}}}));
  EXPECT_TRUE(result.err.find("started") == std::string::npos) << "no human progress with --json-events";
}

TEST_F(CliTest, RunsTheWorkflowEmbeddedInAPng) {
  write("image.png", png_with_chunks({{"tEXt", std::string("Software") + '\0' + "test"},
                                      {"tEXt", text_chunk(math_graph().dump())}}));
  const CliResult result = cli({"run", "image.png"});
  ASSERT_EQ(result.exit_code, 0) << result;
  EXPECT_NE(result.out.find("4 (Display) text: 42"), std::string::npos) << result;
}

TEST_F(CliTest, RunsAWorkflowInACompressedItxtChunk) {
  write("image.png", png_with_chunks({{"iTXt", compressed_itxt_chunk(math_graph().dump())}}));
  const CliResult result = cli({"run", "image.png", "--set", "2.value=10"});
  ASSERT_EQ(result.exit_code, 0) << result;
  EXPECT_NE(result.out.find("4 (Display) text: 60"), std::string::npos) << result;
}

// The round trip with the real image writer: SaveImage's PNG runs again, with a change.
TEST_F(CliTest, RerunsAPngWrittenBySaveImage) {
  const CliResult listing = cli({"nodes", "--json"});
  ASSERT_EQ(listing.exit_code, 0) << listing;
  if (listing.out.find("\"SaveImage\"") == std::string::npos) GTEST_SKIP() << "the diffusion plugin is not built";
  write_graph("image.json",
              workflow({{"1", {{"type", "SolidMask"}, {"inputs", {{"value", 0.5}, {"width", 8}, {"height", 4}}}}},
                        {"2", {{"type", "MaskToImage"}, {"inputs", {{"mask", link("1", "MASK")}}}}},
                        {"3", {{"type", "SaveImage"}, {"inputs", {{"images", link("2", "IMAGE")}, {"filename_prefix", "mask"}}}}}}));
  const CliResult first = cli({"run", "image.json"});
  ASSERT_EQ(first.exit_code, 0) << first;
  ASSERT_TRUE(fs::exists(dir_ / "output/mask_00001_.png")) << first;
  const CliResult again = cli({"run", "output/mask_00001_.png", "--set", "1.width=16"});
  ASSERT_EQ(again.exit_code, 0) << again;
  const std::string png = read_text(dir_ / "output/mask_00002_.png");
  ASSERT_GE(png.size(), 24u);
  EXPECT_EQ(static_cast<unsigned char>(png[19]), 16) << "IHDR width of the re-run image";
  EXPECT_EQ(static_cast<unsigned char>(png[23]), 4) << "IHDR height of the re-run image";
}

TEST_F(CliTest, CorruptPngIsAClearError) {
  std::string png = png_with_chunks({{"tEXt", text_chunk(math_graph().dump())}});
  png[png.size() / 2] ^= 0x20;  // inside the text chunk: its CRC no longer matches
  write("corrupt.png", png);
  const CliResult corrupt = cli({"run", "corrupt.png"});
  EXPECT_EQ(corrupt.exit_code, 3) << corrupt;
  EXPECT_NE(corrupt.err.find("CRC mismatch in chunk tEXt"), std::string::npos) << corrupt;

  write("truncated.png", png_with_chunks({{"tEXt", text_chunk(math_graph().dump())}}).substr(0, 60));
  const CliResult truncated = cli({"run", "truncated.png"});
  EXPECT_EQ(truncated.exit_code, 3) << truncated;
  EXPECT_NE(truncated.err.find("truncated PNG"), std::string::npos) << truncated;
}

TEST_F(CliTest, PngWithoutAWorkflowIsAClearError) {
  write("plain.png", png_with_chunks({{"tEXt", std::string("Comment") + '\0' + "no workflow here"}}));
  const CliResult result = cli({"run", "plain.png"});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_NE(result.err.find("holds no workflow"), std::string::npos) << result;
}

// --- invalid workflows -------------------------------------------------------------------------

struct InvalidCase {
  std::string name;
  json graph;
  std::string node;     ///< the node the problem must name
  std::string message;  ///< a part of the problem's text
};

std::ostream& operator<<(std::ostream& os, const InvalidCase& c) { return os << c.name; }

std::vector<InvalidCase> invalid_cases() {
  auto display_of = [](const std::string& node, const std::string& output) {
    return json{{"type", "Display"}, {"inputs", {{"value", link(node, output)}}}};
  };
  return {
      {"unknown_node_type", workflow({{"1", {{"type", "NoSuchNode"}}}}), "1", "unknown node type 'NoSuchNode'"},
      {"unknown_input", workflow({{"1", {{"type", "Int"}, {"inputs", {{"valu", 3}}}}}, {"2", display_of("1", "INT")}}),
       "1", "unknown input 'valu' for Int"},
      {"missing_required_input", workflow({{"7", {{"type", "Display"}}}}), "7", "missing required input 'value'"},
      {"link_type_mismatch",
       workflow({{"1", {{"type", "String"}, {"inputs", {{"value", "x"}}}}},
                 {"2", {{"type", "IntMath"}, {"inputs", {{"a", link("1", "STRING")}}}}},
                 {"3", display_of("2", "INT")}}),
       "2", "input 'a' expects INT but node 1 output 'STRING' is STRING"},
      {"literal_type_mismatch",
       workflow({{"1", {{"type", "IntMath"}, {"inputs", {{"a", "six"}}}}}, {"2", display_of("1", "INT")}}), "1",
       "value \"six\" is not an integer"},
      {"dangling_link_node", workflow({{"3", display_of("99", "INT")}}), "3", "links to missing node '99'"},
      {"dangling_link_output",
       workflow({{"1", {{"type", "Int"}, {"inputs", {{"value", 1}}}}}, {"2", display_of("1", "FLOAT")}}), "2",
       "links to output 'FLOAT' of node 1"},
      {"cycle",
       workflow({{"1", {{"type", "IntMath"}, {"inputs", {{"a", link("2", "INT")}}}}},
                 {"2", {{"type", "IntMath"}, {"inputs", {{"a", link("1", "INT")}}}}},
                 {"3", display_of("2", "INT")}}),
       "1", "cycle: "},
      {"out_of_range", workflow({{"5", {{"type", "SlowCount"}, {"inputs", {{"steps", 0}}}}}}), "5",
       "value 0 is below the minimum 1"},
      {"not_among_options",
       workflow({{"1", {{"type", "IntMath"}, {"inputs", {{"op", "pow"}}}}}, {"2", display_of("1", "INT")}}), "1",
       "value \"pow\" is not one of: add, subtract"},
  };
}

class InvalidGraphTest : public CliTest, public ::testing::WithParamInterface<InvalidCase> {};

TEST_P(InvalidGraphTest, RunExitsThreeNamingTheNodeAndNothingRuns) {
  const InvalidCase& c = GetParam();
  write_graph("bad.json", c.graph);
  const CliResult result = cli({"run", "bad.json"});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_NE(result.err.find("node " + c.node + " "), std::string::npos) << result;
  EXPECT_NE(result.err.find(c.message), std::string::npos) << result;
  EXPECT_EQ(result.err.find("started"), std::string::npos) << "an invalid graph must not start running";
}

TEST_P(InvalidGraphTest, ValidatePrintsTheProblem) {
  const InvalidCase& c = GetParam();
  write_graph("bad.json", c.graph);
  const CliResult result = cli({"validate", "bad.json"});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_NE(result.out.find("node " + c.node + " "), std::string::npos) << result;
  EXPECT_NE(result.out.find(c.message), std::string::npos) << result;
}

INSTANTIATE_TEST_SUITE_P(Kinds, InvalidGraphTest, ::testing::ValuesIn(invalid_cases()),
                         [](const auto& info) { return info.param.name; });

TEST_F(CliTest, EveryProblemIsReportedAtOnce) {
  json nodes = json::object();
  for (const auto& c : invalid_cases()) {
    // Prefix the ids so each case's nodes stay separate in one graph.
    for (auto& [id, node] : c.graph["nodes"].items()) {
      json copy = node;
      if (copy.contains("inputs"))
        for (auto& [name, value] : copy["inputs"].items())
          if (value.is_object()) value["node"] = c.name + "." + value["node"].get<std::string>();
      nodes[c.name + "." + id] = copy;
    }
  }
  write_graph("all.json", workflow(nodes));
  const CliResult result = cli({"run", "all.json"});
  EXPECT_EQ(result.exit_code, 3) << result;
  for (const auto& c : invalid_cases()) {
    EXPECT_NE(result.err.find("node " + c.name + "." + c.node + " "), std::string::npos) << c.name << "\n" << result;
  }
  EXPECT_NE(result.err.find(std::to_string(invalid_cases().size()) + " problems"), std::string::npos) << result;
}

TEST_F(CliTest, MalformedJsonExitsThreeNamingLineAndColumn) {
  write("broken.json", "{\n  \"format\": \"diffgraph/1\",\n  \"nodes\": {,}\n}\n");
  const CliResult run = cli({"run", "broken.json"});
  EXPECT_EQ(run.exit_code, 3) << run;
  EXPECT_NE(run.err.find("malformed JSON at line 3, column 13"), std::string::npos) << run;
  const CliResult validate = cli({"validate", "broken.json"});
  EXPECT_EQ(validate.exit_code, 3) << validate;
  EXPECT_NE(validate.out.find("line 3, column 13"), std::string::npos) << validate;
}

TEST_F(CliTest, NumberTooLargeForADoubleIsMalformedJson) {
  write("huge.json", R"({"format": "diffgraph/1", "nodes": {"1": {"type": "Float", "inputs": {"value": 1e400}}}})");
  const CliResult result = cli({"run", "huge.json"});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_NE(result.err.find("malformed JSON: number overflow"), std::string::npos) << result;
}

TEST_F(CliTest, ValidatePrintsValid) {
  write_graph("math.json", math_graph());
  const CliResult result = cli({"validate", "math.json"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.out, "valid\n");
}

// graphs/ also holds diffusion workflows (they need models); the ones made only of nodes from
// the basic plugin must run here, every one whose node types are all registered must validate.
TEST_F(CliTest, SeedWorkflowsValidateAndBasicOnesRun) {
  const CliResult listing = cli({"nodes", "--json"});
  ASSERT_EQ(listing.exit_code, 0) << listing;
  std::map<std::string, std::string> plugin_of;
  for (const auto& node : json::parse(listing.out)) plugin_of[node["type"]] = node["plugin"];

  int ran = 0;
  for (const auto& entry : fs::directory_iterator(DIFFGRAPH_GRAPHS_DIR)) {
    if (entry.path().extension() != ".json") continue;
    bool all_known = true, all_basic = true;
    const json graph = json::parse(read_text(entry.path()));
    for (const auto& [id, node] : graph["nodes"].items()) {
      const auto it = plugin_of.find(node["type"].get<std::string>());
      all_known = all_known && it != plugin_of.end();
      all_basic = all_basic && it != plugin_of.end() && it->second == "basic";
    }
    if (all_known) {
      const CliResult validate = cli({"validate", entry.path().string()});
      EXPECT_EQ(validate.exit_code, 0) << entry.path() << "\n" << validate;
    }
    if (all_basic) {
      ++ran;
      const CliResult run = cli({"run", entry.path().string()});
      EXPECT_EQ(run.exit_code, 0) << entry.path() << "\n" << run;
      EXPECT_NE(run.out.find("executed "), std::string::npos) << run;
    }
  }
  EXPECT_GE(ran, 2) << "graphs/ should hold basic_math.json and text_pipeline.json";
}

// --- execution errors, usage errors, I/O errors -------------------------------------------------

TEST_F(CliTest, ExecutionErrorExitsFourNamingTheNode) {
  write_graph("math.json", math_graph());
  const CliResult result = cli({"run", "math.json", "--set", "3.op=divide", "--set", "2.value=0"});
  EXPECT_EQ(result.exit_code, 4) << result;
  EXPECT_NE(result.err.find("node 3 (IntMath) failed: divide by zero"), std::string::npos) << result;
}

TEST_F(CliTest, ExecutionErrorSummaryInJsonEvents) {
  write_graph("math.json", math_graph());
  const CliResult result = cli({"run", "math.json", "--json-events", "--set", "3.op=divide", "--set", "2.value=0"});
  EXPECT_EQ(result.exit_code, 4) << result;
  const auto lines = json_lines(result.out);
  ASSERT_FALSE(lines.empty());
  const json& summary = lines.back();
  EXPECT_EQ(summary["kind"], "summary");
  EXPECT_EQ(summary["status"], "failed");
  EXPECT_EQ(summary["exit_code"], 4);
  EXPECT_EQ(summary["failed"], json::array({"3"}));
  EXPECT_NE(summary["error"].get<std::string>().find("divide by zero"), std::string::npos);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  write_graph("math.json", math_graph());
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"run"},
           {"run", "math.json", "--no-such-option"},
           {"run", "math.json", "--device", "tpu"},
           {"run", "math.json", "--dtype", "fp8"},
           {"run", "math.json", "--threads", "-1"},
           {"validate"},
           {"info"},
       }) {
    CliProcess process(args, dir_);
    const CliResult result = process.finish();
    std::string joined;
    for (const auto& arg : args) joined += arg + " ";
    EXPECT_EQ(result.exit_code, 2) << joined << "\n" << result;
  }
}

TEST_F(CliTest, MissingFileExitsOne) {
  const CliResult result = cli({"run", "missing.json"});
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_NE(result.err.find("cannot open missing.json"), std::string::npos) << result;
}

TEST_F(CliTest, VersionAndHelpExitZero) {
  CliProcess version({"--version"}, dir_);
  const CliResult v = version.finish();
  EXPECT_EQ(v.exit_code, 0) << v;
  EXPECT_TRUE(std::regex_search(v.out, std::regex(R"(diffgraph \d+\.\d+\.\d+ \(plugin ABI \d+\))"))) << v;
  CliProcess help({"run", "--help"}, dir_);
  const CliResult h = help.finish();
  EXPECT_EQ(h.exit_code, 0) << h;
  EXPECT_NE(h.out.find("--json-events"), std::string::npos) << h;
}

// --- nodes, plugins, info ------------------------------------------------------------------------

TEST_F(CliTest, NodesJsonListsEverySpecWithItsPlugin) {
  const CliResult result = cli({"nodes", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result;
  const json nodes = json::parse(result.out);
  ASSERT_TRUE(nodes.is_array());
  std::map<std::string, std::string> plugin_of;
  for (const auto& node : nodes) {
    ASSERT_TRUE(node.contains("inputs") && node.contains("outputs") && node.contains("plugin")) << node;
    plugin_of[node["type"]] = node["plugin"];
  }
  for (const char* type : {"Int", "Float", "String", "Boolean", "IntMath", "FloatMath", "StringConcat",
                           "StringReplace", "ReadTextFile", "SaveText", "Display"})
    EXPECT_EQ(plugin_of[type], "basic") << type;
  EXPECT_EQ(plugin_of["SlowCount"], "cli_test_nodes");
  const auto int_math = std::find_if(nodes.begin(), nodes.end(), [](const json& n) { return n["type"] == "IntMath"; });
  EXPECT_EQ((*int_math)["outputs"][0]["type"], "INT");
  EXPECT_EQ((*int_math)["inputs"][2]["options"][0], "add");
}

TEST_F(CliTest, NodesTextListsInputsAndOutputs) {
  const CliResult result = cli({"nodes"});
  ASSERT_EQ(result.exit_code, 0) << result;
  EXPECT_NE(result.out.find("IntMath  [basic] math"), std::string::npos) << result;
  EXPECT_NE(result.out.find("in   op STRING = \"add\" {add|subtract"), std::string::npos) << result;
  EXPECT_NE(result.out.find("out  INT INT"), std::string::npos) << result;
}

TEST_F(CliTest, PluginsListsLoadedAndFailedPlugins) {
  fs::create_directories(dir_ / "broken");
  write("broken/not_a_plugin.so", "this is not a shared library");
  CliProcess process({"plugins", "--plugins", DIFFGRAPH_BASIC_PLUGIN_DIR, "--plugins", (dir_ / "broken").string()},
                     dir_);
  const CliResult result = process.finish();
  ASSERT_EQ(result.exit_code, 0) << result;
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(basic 1\.0  11 nodes  \S*basic\.so)"))) << result;
  EXPECT_NE(result.out.find("failed plugins (1):"), std::string::npos) << result;
  EXPECT_NE(result.out.find("not_a_plugin.so"), std::string::npos) << result;
  EXPECT_NE(result.out.find("cannot open the library"), std::string::npos) << result;
}

TEST_F(CliTest, BrokenPluginIsAWarningNotAnAbort) {
  fs::create_directories(dir_ / "broken");
  write("broken/not_a_plugin.so", "this is not a shared library");
  write_graph("math.json", math_graph());
  const CliResult result = cli({"run", "math.json", "--plugins", (dir_ / "broken").string()});
  ASSERT_EQ(result.exit_code, 0) << result;
  EXPECT_NE(result.err.find("warning: plugin"), std::string::npos) << result;
  EXPECT_NE(result.err.find("not_a_plugin.so was not loaded"), std::string::npos) << result;
}

TEST_F(CliTest, InfoDescribesASafetensorsFile) {
  std::vector<float> weights(6, 0.5f);
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(weights.data()), weights.size() * 4);
  diffgraph::models::write_safetensors(dir_ / "tiny.safetensors",
                                       {{"alpha.weight", diffgraph::models::Dtype::F32, {2, 3}, bytes},
                                        {"beta.weight", diffgraph::models::Dtype::F32, {6}, bytes}},
                                       {{"note", "tiny"}});
  // The runner describes nothing itself: the diffusion plugin (found in the build's plugin
  // folder, when this build has it) summarises the header; without it no plugin recognises it.
  CliProcess process({"info", "tiny.safetensors"}, dir_);
  const CliResult result = process.finish();
  if (DIFFGRAPH_HAS_DIFFUSION_PLUGIN) {
    ASSERT_EQ(result.exit_code, 0) << result;
    EXPECT_TRUE(std::regex_search(result.out, std::regex("tensors: 2 \\(12 parameters"))) << result;
    EXPECT_NE(result.out.find("note: tiny"), std::string::npos) << result;
  } else {
    EXPECT_EQ(result.exit_code, 1) << result;
    EXPECT_NE(result.err.find("tiny.safetensors is a file no loaded plugin recognises"), std::string::npos) << result;
  }

  write("garbage.safetensors", "not a safetensors file at all");
  CliProcess garbage({"info", "garbage.safetensors"}, dir_);
  const CliResult bad = garbage.finish();
  EXPECT_EQ(bad.exit_code, 1) << bad;
  EXPECT_NE(bad.err.find("garbage.safetensors"), std::string::npos) << bad;
}

TEST_F(CliTest, InfoAsksThePluginsFileInspectors) {
  write("note.testinfo", "hello from the file\n");
  CliProcess described(with_plugins({"info", "note.testinfo"}), dir_);
  const CliResult ok = described.finish();
  ASSERT_EQ(ok.exit_code, 0) << ok;
  EXPECT_NE(ok.out.find("test file saying: hello from the file"), std::string::npos) << ok;

  // An inspector that recognises the file but fails: exit 1, naming the file and the inspector.
  write("broken.badinfo", "x");
  CliProcess broken(with_plugins({"info", "broken.badinfo"}), dir_);
  const CliResult bad = broken.finish();
  EXPECT_EQ(bad.exit_code, 1) << bad;
  EXPECT_NE(bad.err.find("broken.badinfo (read as a testinfo): the test inspector cannot read it"), std::string::npos)
      << bad;

  CliProcess missing({"info", "no_such_file.safetensors"}, dir_);
  const CliResult absent = missing.finish();
  EXPECT_EQ(absent.exit_code, 2) << absent;
  EXPECT_NE(absent.err.find("no_such_file.safetensors does not exist"), std::string::npos) << absent;
}

// --- cancellation --------------------------------------------------------------------------------

bool has_event(const std::string& out, const std::string& kind) {
  return out.find("\"kind\":\"" + kind + "\"") != std::string::npos;
}

TEST_F(CliTest, CtrlCCancelsAtTheNextStepAndExits130) {
  // 100000 steps of 10 ms: far longer than the test, so only cancellation can end it.
  write_graph("slow.json",
              workflow({{"1", {{"type", "SlowCount"}, {"inputs", {{"steps", 100000}, {"step_ms", 10}}}}}}));
  CliProcess process(with_plugins({"run", "slow.json", "--json-events"}), dir_);
  ASSERT_TRUE(process.read_until([](const std::string& out) { return has_event(out, "progress"); },
                                 std::chrono::seconds(30)))
      << "the run never reported progress";
  const auto sent = Clock::now();
  process.send(SIGINT);
  const CliResult result = process.finish(std::chrono::seconds(30));
  EXPECT_LT(Clock::now() - sent, std::chrono::seconds(10));
  EXPECT_EQ(result.signal, 0) << result;
  EXPECT_EQ(result.exit_code, 130) << result;
  EXPECT_NE(result.err.find("cancelling"), std::string::npos) << result;
  const auto lines = json_lines(result.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["kind"], "summary");
  EXPECT_EQ(lines.back()["status"], "cancelled");
  EXPECT_EQ(lines.back()["exit_code"], 130);
}

TEST_F(CliTest, SecondCtrlCQuitsAtOnce) {
  // A node that never reports progress cannot notice the first Ctrl-C.
  write_graph("sleep.json", workflow({{"1", {{"type", "Sleep"}, {"inputs", {{"ms", 600000}}}}}}));
  CliProcess process(with_plugins({"run", "sleep.json", "--json-events"}), dir_);
  ASSERT_TRUE(process.read_until([](const std::string& out) { return has_event(out, "started"); },
                                 std::chrono::seconds(30)));
  process.send(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(process.running()) << "the first Ctrl-C waits for the node";
  process.send(SIGINT);
  const CliResult result = process.finish(std::chrono::seconds(10));
  EXPECT_EQ(result.signal, 0) << result;
  EXPECT_EQ(result.exit_code, 130) << result;
  EXPECT_NE(result.err.find("interrupted"), std::string::npos) << result;
}

}  // namespace
