// A shared library that is not a diffgraph plugin: it exports no entry point.
extern "C" __attribute__((visibility("default"))) int some_other_function() { return 7; }
