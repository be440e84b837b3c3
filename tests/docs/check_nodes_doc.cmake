# Fails when docs/nodes.md differs from what `diffgraph nodes --markdown` prints for the
# plugins shipped with diffgraph. Run with -DDIFFGRAPH=<binary> -DPLUGINS=<dir> -DDOC=<file>.
execute_process(COMMAND ${DIFFGRAPH} nodes --markdown --plugins ${PLUGINS}
                OUTPUT_VARIABLE generated RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "diffgraph nodes --markdown failed (${status})")
endif()
file(READ ${DOC} committed)
if(NOT generated STREQUAL committed)
  message(FATAL_ERROR "docs/nodes.md is stale. Regenerate it with:\n"
                      "  build/bin/diffgraph nodes --markdown --plugins build/lib/diffgraph/plugins > docs/nodes.md")
endif()
