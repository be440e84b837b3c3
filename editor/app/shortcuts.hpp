/// @file shortcuts.hpp
/// The keyboard and mouse shortcuts, listed once: the help window shows this table and a test
/// checks that docs/editor.md lists every entry.
#pragma once

#include <array>

namespace diffgraph::editor::ui {

struct Shortcut {
  const char* keys;
  const char* action;
};

inline constexpr std::array kShortcuts{
    Shortcut{"Ctrl+Enter", "Run the graph"},
    Shortcut{"Escape", "Cancel the run (while running); otherwise clear the selection"},
    Shortcut{"Double-click canvas / Tab", "Search nodes to add"},
    Shortcut{"Drag pin to pin", "Connect (pins that cannot take the wire dim)"},
    Shortcut{"Drop a wire on empty canvas", "Search nodes that take it; the new node is wired in"},
    Shortcut{"Drag a connected input away", "Move its wire, or drop it on nothing to remove it"},
    Shortcut{"Double-click a wire", "Add a reroute point"},
    Shortcut{"Alt+drag a reroute", "Draw a new wire out of it"},
    Shortcut{"Click / Shift+click", "Select / add to or remove from the selection"},
    Shortcut{"Drag on empty canvas", "Box select (Shift adds)"},
    Shortcut{"Middle drag / Space+drag", "Pan"},
    Shortcut{"Mouse wheel", "Zoom around the cursor"},
    Shortcut{"Home / F", "Fit the graph in view"},
    Shortcut{"Delete / Backspace", "Delete the selection"},
    Shortcut{"Ctrl+D", "Duplicate the selection"},
    Shortcut{"Ctrl+C / Ctrl+X / Ctrl+V", "Copy / cut / paste (system clipboard, as workflow JSON)"},
    Shortcut{"Ctrl+Shift+V", "Paste keeping links from nodes outside the pasted ones"},
    Shortcut{"Ctrl+A", "Select everything"},
    Shortcut{"Ctrl+Z", "Undo"},
    Shortcut{"Ctrl+Shift+Z / Ctrl+Y", "Redo"},
    Shortcut{"Ctrl+B", "Bypass the selected nodes (inputs pass through)"},
    Shortcut{"Alt+C", "Collapse / expand the selected nodes"},
    Shortcut{"Ctrl+G", "Group the selection"},
    Shortcut{"Double-click a title", "Rename a node or group"},
    Shortcut{"Ctrl+N / Ctrl+O", "New / open (JSON or a PNG saved by diffgraph)"},
    Shortcut{"Ctrl+S / Ctrl+Shift+S", "Save / save as"},
    Shortcut{"Ctrl+Shift+R", "Reload plugins"},
    Shortcut{"F1", "This help"},
    Shortcut{"Ctrl+Q", "Quit (asks about unsaved changes)"},
};

}  // namespace diffgraph::editor::ui
