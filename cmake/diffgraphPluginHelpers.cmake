# diffgraph_add_plugin(): builds a diffgraph node plugin. Shared by the in-tree plugins (the
# top-level CMakeLists.txt includes this file) and by out-of-tree plugins (the installed
# diffgraphConfig.cmake includes it), so both are built the same way. See docs/plugins.md.
#
#   diffgraph_add_plugin(<name> [SOURCES] <source>...
#                        [OUTPUT_DIRECTORY <dir>] [INSTALL_DESTINATION <dir>])
#
# Creates the MODULE library target <name>, loaded at run time as <name>.so:
# - no "lib" prefix: the runner names the plugin after its file until set_info() names it;
# - hidden visibility: only the two entry points DIFFGRAPH_PLUGIN defines are exported, so
#   plugins never clash over each other's helper symbols;
# - linked to diffgraph::engine (link diffgraph::tensor_values yourself for tensor nodes);
# - written to OUTPUT_DIRECTORY, default ${DIFFGRAPH_PLUGIN_OUTPUT_DIR} when the including
#   project sets it (the diffgraph build tree), else ${CMAKE_BINARY_DIR}/plugins: a folder
#   holding only plugins, ready for `diffgraph ... --plugins <dir>`;
# - installed into INSTALL_DESTINATION, default ${DIFFGRAPH_PLUGIN_INSTALL_DIR} when set, else
#   the plugin folder relative to the installed SDK's prefix (normally lib/diffgraph/plugins),
#   the folder the runner of the same prefix searches.
include_guard(GLOBAL)
include(GNUInstallDirs)

function(diffgraph_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES")
  set(sources ${arg_SOURCES} ${arg_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "diffgraph_add_plugin(${name}): no source files given")
  endif()

  set(output_dir ${arg_OUTPUT_DIRECTORY})
  if(NOT output_dir)
    if(DEFINED DIFFGRAPH_PLUGIN_OUTPUT_DIR)
      set(output_dir ${DIFFGRAPH_PLUGIN_OUTPUT_DIR})
    else()
      set(output_dir ${CMAKE_BINARY_DIR}/plugins)
    endif()
  endif()
  set(install_dir ${arg_INSTALL_DESTINATION})
  if(NOT install_dir)
    if(DEFINED DIFFGRAPH_PLUGIN_INSTALL_DIR)
      set(install_dir ${DIFFGRAPH_PLUGIN_INSTALL_DIR})
    elseif(DEFINED diffgraph_PLUGIN_INSTALL_SUBDIR)
      # The layout of the installed SDK, so `cmake --install <build> --prefix <diffgraph's
      # prefix>` drops the plugin where that diffgraph's runner looks.
      set(install_dir ${diffgraph_PLUGIN_INSTALL_SUBDIR})
    else()
      set(install_dir ${CMAKE_INSTALL_LIBDIR}/diffgraph/plugins)
    endif()
  endif()

  add_library(${name} MODULE ${sources})
  target_link_libraries(${name} PRIVATE diffgraph::engine)
  # The SDK headers use C++20; diffgraph::engine also requires it, this keeps old CMake
  # policies from silently picking an older default.
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${output_dir}
    # Installed next to diffgraph (<prefix>/lib/diffgraph/plugins), the plugin finds
    # libdiffgraph and libdiffgraph_tensor_values two folders up. Installed under another
    # prefix, it finds them where they were linked from (the SDK's lib folder).
    INSTALL_RPATH "$ORIGIN/../.."
    INSTALL_RPATH_USE_LINK_PATH TRUE)
  install(TARGETS ${name} LIBRARY DESTINATION ${install_dir})
endfunction()
