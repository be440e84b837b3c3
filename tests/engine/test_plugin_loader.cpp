#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "test_nodes.hpp"

using namespace diffgraph;
using namespace diffgraph::testing;

namespace {

const PluginInfo& info_for(const std::vector<PluginInfo>& infos, const std::string& file_stem) {
  for (const auto& info : infos)
    if (info.path.stem() == file_stem) return info;
  throw std::runtime_error("no plugin " + file_stem);
}

}  // namespace

TEST(PluginLoader, LoadsGoodPluginsAndRefusesBrokenOnesWithClearReasons) {
  Registry registry;
  auto infos = load_plugins(registry, {ENGINE_TEST_PLUGIN_DIR});
  ASSERT_EQ(infos.size(), 5u);

  const PluginInfo& good = info_for(infos, "good_plugin");
  EXPECT_TRUE(good.loaded) << good.error;
  EXPECT_EQ(good.name, "good");
  EXPECT_EQ(good.version, "2.5");
  EXPECT_EQ(good.node_types, (std::vector<std::string>{"MakeToken", "ThrowingNode"}));
  EXPECT_NE(registry.find_node("MakeToken"), nullptr);
  EXPECT_EQ(registry.node_plugin("MakeToken"), "good");
  ASSERT_NE(registry.find_type("TOKEN"), nullptr);
  EXPECT_EQ(registry.find_type("TOKEN")->color.g, 20);

  const PluginInfo& abi = info_for(infos, "abi_mismatch_plugin");
  EXPECT_FALSE(abi.loaded);
  EXPECT_NE(abi.error.find("built for plugin ABI version " + std::to_string(kAbiVersion + 41)), std::string::npos) << abi.error;
  EXPECT_NE(abi.error.find("this diffgraph uses ABI version " + std::to_string(kAbiVersion)), std::string::npos);

  const PluginInfo& no_entry = info_for(infos, "no_entry_plugin");
  EXPECT_FALSE(no_entry.loaded);
  EXPECT_NE(no_entry.error.find("does not export diffgraph_plugin_abi_version"), std::string::npos) << no_entry.error;

  const PluginInfo& throwing = info_for(infos, "throwing_register_plugin");
  EXPECT_FALSE(throwing.loaded);
  EXPECT_NE(throwing.error.find("configuration file missing"), std::string::npos) << throwing.error;
  EXPECT_EQ(registry.find_node("NeverRegistered"), nullptr);  // all or nothing

  const PluginInfo& duplicate = info_for(infos, "zz_duplicate_node_plugin");
  EXPECT_FALSE(duplicate.loaded);
  EXPECT_NE(duplicate.error.find("node type 'MakeToken' from plugin 'duplicate' is already registered by plugin 'good'"),
            std::string::npos)
      << duplicate.error;

  EXPECT_EQ(registry.plugins().size(), 5u);
}

TEST(PluginLoader, ANodeThatThrowsIsAnExecutionErrorNamingIt) {
  Registry registry;
  load_plugins(registry, {ENGINE_TEST_PLUGIN_DIR});
  Executor executor(registry);
  RunOptions options;
  options.targets = {"boom"};
  Graph graph = graph_from({{"format", "diffgraph/1"}, {"nodes", {{"boom", {{"type", "ThrowingNode"}}}}}});
  try {
    executor.run(graph, options);
    FAIL();
  } catch (const ExecutionError& e) {
    EXPECT_EQ(e.node_id(), "boom");
    EXPECT_EQ(e.reason(), "the test node always fails");
  }
}

TEST(PluginLoader, ValuesKeepTheirPluginLoadedAfterTheRegistryIsGone) {
  ValuePtr token;
  {
    Registry registry;
    load_plugins(registry, {std::filesystem::path(ENGINE_TEST_PLUGIN_DIR) / "good_plugin.so"});
    Executor executor(registry);
    RunOptions options;
    options.targets = {"t"};
    Graph graph = graph_from({{"format", "diffgraph/1"}, {"nodes", {{"t", {{"type", "MakeToken"}}}}}});
    token = executor.run(graph, options).outputs.at("t").at("TOKEN");
  }
  // The value's code (vtable) lives in the plugin; calling it must still work.
  EXPECT_EQ(token->summary(), "token hello");
  EXPECT_EQ(token->type(), "TOKEN");
}

TEST(PluginLoader, SearchPathHonoursExtraDirsAndTheEnvironment) {
  ::setenv("DIFFGRAPH_PLUGIN_PATH", "/tmp/dg_a:/tmp/dg_b", 1);
  auto path = plugin_search_path({"/tmp/dg_extra"});
  ::unsetenv("DIFFGRAPH_PLUGIN_PATH");
  ASSERT_GE(path.size(), 4u);
  EXPECT_EQ(path[0], "/tmp/dg_extra");
  EXPECT_EQ(path[1], "/tmp/dg_a");
  EXPECT_EQ(path[2], "/tmp/dg_b");
  EXPECT_EQ(path.back().filename(), "plugins");
  EXPECT_EQ(path.back(), std::filesystem::weakly_canonical(installed_plugin_folder()));
  // The build tree mirrors the install: <libdir>/diffgraph/plugins beside the engine library is
  // where basic.so was built.
  EXPECT_EQ(path.back(), std::filesystem::weakly_canonical(std::filesystem::path(BASIC_PLUGIN_FILE).parent_path()));
}

TEST(PluginLoader, TheBasicPluginRunsAGraph) {
  Registry registry;
  auto infos = load_plugins(registry, {BASIC_PLUGIN_FILE});
  ASSERT_TRUE(infos.at(0).loaded) << infos.at(0).error;
  Executor executor(registry);
  Graph graph = graph_from({{"format", "diffgraph/1"},
                            {"nodes",
                             {{"a", {{"type", "Int"}, {"inputs", {{"value", 6}}}}},
                              {"m", {{"type", "IntMath"}, {"inputs", {{"a", link_to("a", "INT")}, {"b", 7}, {"op", "multiply"}}}}},
                              {"t", {{"type", "StringConcat"}, {"inputs", {{"a", "x"}, {"b", "y"}, {"separator", "-"}}}}},
                              {"d1", {{"type", "Display"}, {"inputs", {{"value", link_to("m", "INT")}}}}},
                              {"d2", {{"type", "Display"}, {"inputs", {{"value", link_to("t", "STRING")}}}}}}}});
  RunResult result = executor.run(graph);
  EXPECT_EQ(result.results.at("d1").at(0).at("text"), "42");
  EXPECT_EQ(result.results.at("d2").at(0).at("text"), "x-y");
}

// Data files are found in $DIFFGRAPH_DATA_DIR first, then in the installed data folder, which in
// a build tree links to the source tree's models/ (vocabulary and default model).
TEST(Locations, DataFilesAndTheDefaultModelAreFoundBesideTheEngine) {
  const auto vocabulary = find_data_file("clip/bpe_simple_vocab_16e6.txt.gz");
  EXPECT_TRUE(std::filesystem::is_regular_file(vocabulary)) << vocabulary;
  EXPECT_TRUE(std::filesystem::is_regular_file(default_model_folder() / "diffgraph-shapes.safetensors"))
      << default_model_folder();

  const auto folder = std::filesystem::temp_directory_path() / ("dg_data_" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder / "clip");
  { std::ofstream(folder / "clip" / "bpe_simple_vocab_16e6.txt.gz") << "x"; }
  ::setenv("DIFFGRAPH_DATA_DIR", folder.c_str(), 1);
  const auto overridden = find_data_file("clip/bpe_simple_vocab_16e6.txt.gz");
  const auto search = data_search_path();
  try {
    find_data_file("clip/no_such_file.txt");
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("clip/no_such_file.txt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(folder.string()), std::string::npos) << e.what();
  }
  ::unsetenv("DIFFGRAPH_DATA_DIR");
  std::filesystem::remove_all(folder);
  EXPECT_EQ(overridden, std::filesystem::weakly_canonical(folder) / "clip" / "bpe_simple_vocab_16e6.txt.gz");
  ASSERT_EQ(search.size(), 2u);
  EXPECT_EQ(search.back(), std::filesystem::weakly_canonical(installed_data_folder()));
}
