// case_report.hpp — the `fixture <id>: ok|FAIL <why>` line of a fixture case checked in a
// GoogleTest test (see fixtures.hpp).
#pragma once

#include <exception>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace diffgraph::testing {

/// Reports one fixture case: while it is alive, the gtest failures of the running test belong
/// to the case; when it ends it prints `fixture <id>: ok`, or `fixture <id>: FAIL <why>` with the
/// first failure's message on one line (an exception escaping the scope, or a skip, is a failure too).
/// Create one at the top of the test that checks the case, after nothing that can fail.
class CaseReport {
 public:
  explicit CaseReport(std::string id)
      : id_(std::move(id)), first_part_(result().total_part_count()), exceptions_(std::uncaught_exceptions()) {}
  CaseReport(const CaseReport&) = delete;
  CaseReport& operator=(const CaseReport&) = delete;

  ~CaseReport() {
    std::string why;
    if (std::uncaught_exceptions() > exceptions_) why = "an exception escaped the check (its message follows)";
    const ::testing::TestResult& r = result();
    for (int i = first_part_; why.empty() && i < r.total_part_count(); ++i) {
      const ::testing::TestPartResult& part = r.GetTestPartResult(i);
      if (part.failed() || part.skipped()) {
        why = (part.skipped() ? "skipped: " : "") + one_line(part.message());
        if (part.file_name() != nullptr)
          why += " (" + std::filesystem::path(part.file_name()).filename().string() + ":" +
                 std::to_string(part.line_number()) + ")";
      }
    }
    std::cout << "fixture " << id_ << ": " << (why.empty() ? "ok" : "FAIL " + why) << std::endl;
  }

 private:
  // gtest's multi-line message as one line of at most 300 characters.
  static std::string one_line(const std::string& message) {
    std::string line;
    for (const char ch : message) {
      const bool space = ch == '\n' || ch == ' ' || ch == '\t';
      if (space && (line.empty() || line.back() == ' ')) continue;
      line += (ch == '\n') ? ' ' : ch;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line.size() > 300 ? line.substr(0, 297) + "..." : line;
  }

  static const ::testing::TestResult& result() {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    if (test == nullptr) throw std::logic_error("CaseReport outside a running test");
    return *test->result();
  }

  std::string id_;
  int first_part_;
  int exceptions_;
};

}  // namespace diffgraph::testing
