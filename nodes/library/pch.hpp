// Precompiled for every node file: LibTorch is the expensive part of each translation unit.
#pragma once
#include <torch/torch.h>

#include <diffgraph/node_spec.hpp>
#include <diffgraph/tensor_values.hpp>
