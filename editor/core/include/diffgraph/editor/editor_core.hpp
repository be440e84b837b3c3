/// @file editor_core.hpp
/// The window-free core of the graph editor (library `diffgraph_editor_core`): the document
/// with undoable edit commands and the clipboard, node search and pin compatibility, files
/// (PNG workflows, recent files, backups), background runs and plugin reloading.
#pragma once

#include "document.hpp"
#include "input_choices.hpp"
#include "node_search.hpp"
#include "plugin_host.hpp"
#include "run_session.hpp"
#include "workflow_files.hpp"
