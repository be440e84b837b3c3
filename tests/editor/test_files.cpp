// Files: PNG workflows, the recent-files list, backups of unsaved changes and their restore.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "editor_test_nodes.hpp"

using namespace diffgraph;
using namespace diffgraph::editor;
using namespace diffgraph::editor::testing;

namespace {

const char* kWorkflow = R"({"format": "diffgraph/1", "nodes": {
  "1": {"type": "Number", "inputs": {"value": 7}, "editor": {"pos": [10, 20]}},
  "2": {"type": "Show", "inputs": {"value": {"node": "1", "output": "INT"}}, "editor": {"pos": [300, 20]}}}})";

void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::string chunk(const std::string& type, const std::string& data) {
  std::string out;
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  const std::string body = type + data;
  out += body;
  put_be32(out, static_cast<std::uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
  return out;
}

// A 1x1 grey PNG with the given text chunks (type, keyword\0payload).
std::string png_with(const std::vector<std::pair<std::string, std::string>>& chunks) {
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put_be32(ihdr, 1);
  put_be32(ihdr, 1);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit greyscale
  png += chunk("IHDR", ihdr);
  for (const auto& [type, data] : chunks) png += chunk(type, data);
  const std::string raw("\x00\x80", 2);
  uLongf size = compressBound(raw.size());
  std::string idat(size, '\0');
  compress(reinterpret_cast<Bytef*>(idat.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  idat.resize(size);
  png += chunk("IDAT", idat);
  png += chunk("IEND", "");
  return png;
}

void write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(PngWorkflow, OpeningAPngSavedByDiffgraphReadsItsWorkflowUntitled) {
  TempDir dir;
  write(dir / "picture.png", png_with({{"tEXt", std::string("parameters\0other", 16)},
                                       {"tEXt", std::string("workflow\0", 9) + kWorkflow}}));
  TestNodes nodes;
  Document doc{nodes.make_registry()};
  doc.open(dir / "picture.png");
  EXPECT_EQ(doc.to_json(), serialize_graph(parse_graph(kWorkflow)));
  EXPECT_TRUE(doc.path().empty());  // saving must not overwrite the picture
  EXPECT_EQ(doc.suggested_path(), dir / "picture.json");
  EXPECT_FALSE(doc.dirty());
  EXPECT_EQ(read_workflow_file(dir / "picture.png"), parse_graph(kWorkflow));
  // Save As writes JSON next to it; the picture is untouched.
  const std::string picture = read(dir / "picture.png");
  doc.save_as(doc.suggested_path());
  EXPECT_EQ(read(dir / "picture.png"), picture);
  EXPECT_EQ(read(dir / "picture.json"), doc.to_json());
}

TEST(PngWorkflow, CompressedChunksAndClearErrors) {
  TempDir dir;
  const std::string text = kWorkflow;
  uLongf size = compressBound(text.size());
  std::string packed(size, '\0');
  compress(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(text.data()), text.size());
  packed.resize(size);
  write(dir / "z.png", png_with({{"zTXt", std::string("workflow\0\0", 10) + packed}}));
  EXPECT_EQ(read_workflow_file(dir / "z.png"), parse_graph(kWorkflow));
  write(dir / "i.png", png_with({{"iTXt", std::string("workflow\0\0\0en\0\0", 15) + kWorkflow}}));
  EXPECT_EQ(read_workflow_file(dir / "i.png"), parse_graph(kWorkflow));

  write(dir / "none.png", png_with({}));
  try {
    read_workflow_file(dir / "none.png");
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("holds no workflow"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("none.png"), std::string::npos);
  }
  std::string corrupt = png_with({{"tEXt", std::string("workflow\0", 9) + kWorkflow}});
  corrupt[40] ^= 1;
  write(dir / "bad.png", corrupt);
  try {
    read_workflow_file(dir / "bad.png");
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("CRC"), std::string::npos) << e.what();
  }
  write(dir / "short.png", corrupt.substr(0, 30));
  EXPECT_THROW(read_workflow_file(dir / "short.png"), GraphError);
  EXPECT_THROW(read_workflow_file(dir / "missing.png"), Error);
}

TEST(RecentFiles, NewestFirstWithoutDuplicatesLimitedAndShared) {
  TempDir dir;
  const auto file = dir / "config" / "recent.json";
  RecentFiles recent(file, 3);
  EXPECT_TRUE(recent.entries().empty());
  for (const char* name : {"a.json", "b.json", "c.json", "a.json", "d.json"}) recent.add(dir / name);
  EXPECT_EQ(recent.entries(), (std::vector<std::filesystem::path>{dir / "d.json", dir / "a.json", dir / "c.json"}));
  // Another window sees the same list.
  RecentFiles other(file, 3);
  EXPECT_EQ(other.entries(), recent.entries());
  other.remove(dir / "a.json");
  recent.reload();
  EXPECT_EQ(recent.entries(), (std::vector<std::filesystem::path>{dir / "d.json", dir / "c.json"}));
  write(dir / "c.json", "{}");
  recent.prune_missing();
  EXPECT_EQ(recent.entries(), (std::vector<std::filesystem::path>{dir / "c.json"}));
  write(file, "not json");
  recent.reload();
  EXPECT_TRUE(recent.entries().empty());
}

TEST(RecentFiles, LiveInTheXdgConfigFolder) {
  const char* old = std::getenv("XDG_CONFIG_HOME");
  const std::string saved = old ? old : "";
  ::setenv("XDG_CONFIG_HOME", "/tmp/some-config", 1);
  EXPECT_EQ(config_dir(), std::filesystem::path("/tmp/some-config/diffgraph"));
  EXPECT_EQ(RecentFiles().file(), std::filesystem::path("/tmp/some-config/diffgraph/recent.json"));
  ::unsetenv("XDG_CONFIG_HOME");
  if (const char* home = std::getenv("HOME")) {
    EXPECT_EQ(config_dir(), std::filesystem::path(home) / ".config" / "diffgraph");
  }
  if (old) ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
}

TEST(AutoBackup, WritesUnsavedChangesPeriodicallyAndRestoresThem) {
  TempDir dir;
  TestNodes nodes;
  auto registry = nodes.make_registry();
  Document doc{registry};
  doc.load(parse_graph(kWorkflow));
  doc.save_as(dir / "work.json");
  AutoBackup backup(dir / "backups", std::chrono::seconds(30));
  auto t0 = AutoBackup::Clock::now();
  EXPECT_FALSE(backup.tick(doc, t0 + std::chrono::minutes(1)));  // clean: nothing to back up
  doc.set_literal("1", "value", std::int64_t{8});
  EXPECT_FALSE(backup.tick(doc, t0));  // dirty, but the interval has not passed
  ASSERT_TRUE(backup.tick(doc, t0 + std::chrono::seconds(31)));
  EXPECT_TRUE(std::filesystem::exists(backup.backup_file_for(doc)));
  EXPECT_FALSE(backup.tick(doc, t0 + std::chrono::seconds(90)));  // unchanged since
  doc.set_literal("1", "value", std::int64_t{9});
  EXPECT_FALSE(backup.tick(doc, t0 + std::chrono::seconds(45)));
  EXPECT_TRUE(backup.tick(doc, t0 + std::chrono::seconds(62)));

  // Next start: the backup is offered, and restores the unsaved state.
  const auto entries = AutoBackup::list(dir / "backups");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].document_path, dir / "work.json");
  EXPECT_FALSE(entries[0].writer_running);  // written by this very process
  Document restored{registry};
  AutoBackup::restore(entries[0], restored);
  EXPECT_EQ(restored.to_json(), doc.to_json());
  EXPECT_EQ(restored.path(), dir / "work.json");
  EXPECT_TRUE(restored.dirty());
  // The file on disk still holds the saved state.
  EXPECT_EQ(std::get<std::int64_t>(std::get<Literal>(load_graph(dir / "work.json").nodes.at("1").inputs.at("value"))), 7);

  // Saving makes the document clean, and the next tick removes the backup.
  doc.save();
  backup.tick(doc, t0 + std::chrono::seconds(200));
  EXPECT_TRUE(AutoBackup::list(dir / "backups").empty());
}

TEST(AutoBackup, UntitledDocumentsGetTheirOwnFileAndDiscardRemovesIt) {
  TempDir dir;
  TestNodes nodes;
  Document a{nodes.make_registry()}, b{nodes.make_registry()};
  AutoBackup backup_a(dir / "backups", std::chrono::milliseconds(0)), backup_b(dir / "backups", std::chrono::milliseconds(0));
  a.add_node("Number", {0, 0});
  b.add_node("Show", {0, 0});
  EXPECT_NE(backup_a.backup_file_for(a), backup_b.backup_file_for(b));
  EXPECT_TRUE(backup_a.tick(a));
  EXPECT_TRUE(backup_b.tick(b));
  auto entries = AutoBackup::list(dir / "backups");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_TRUE(entries[0].document_path.empty());
  backup_a.discard(a);
  entries = AutoBackup::list(dir / "backups");
  ASSERT_EQ(entries.size(), 1u);
  Document restored{nodes.make_registry()};
  AutoBackup::restore(entries[0], restored);
  EXPECT_EQ(restored.to_json(), b.to_json());
  AutoBackup::remove(entries[0]);
  EXPECT_TRUE(AutoBackup::list(dir / "backups").empty());
  // Saving under a name moves the backup to the named file.
  EXPECT_TRUE(backup_a.tick(a));
  const auto untitled_file = backup_a.backup_file_for(a);
  a.save_as(dir / "named.json");
  a.set_literal(a.nodes().begin()->first, "value", std::int64_t{3});
  EXPECT_TRUE(backup_a.tick(a));
  EXPECT_FALSE(std::filesystem::exists(untitled_file));
  EXPECT_TRUE(std::filesystem::exists(backup_a.backup_file_for(a)));
}
