/// @file engine.hpp
/// Everything a front end needs: graphs, validation, the executor and plugin loading.
#pragma once

#include "abi.hpp"
#include "errors.hpp"
#include "executor.hpp"
#include "file_inspector.hpp"
#include "fingerprint.hpp"
#include "graph.hpp"
#include "locations.hpp"
#include "node_spec.hpp"
#include "output_cache.hpp"
#include "plugin_loader.hpp"
#include "registry.hpp"
#include "types.hpp"
#include "validation.hpp"
#include "value.hpp"
