// tensor_io.hpp — between safetensors files and torch tensors.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

#include "safetensors.hpp"

namespace diffgraph::models {

/// torch dtype of a safetensors dtype (throws SafetensorsError for ones torch lacks).
torch::Dtype to_torch_dtype(Dtype dtype);
/// safetensors dtype of a torch dtype.
Dtype from_torch_dtype(torch::Dtype dtype);

/// Copies one tensor out of the mapping into a new torch tensor with the stored dtype and shape
/// (on the CPU), then converts it to `options`' dtype/device when those are set.
torch::Tensor load_tensor(const SafetensorsFile& file, const TensorInfo& info,
                          const torch::TensorOptions& options = {});
/// Same, by name; the error names the file and the tensor when it is absent.
torch::Tensor load_tensor(const SafetensorsFile& file, std::string_view name,
                          const torch::TensorOptions& options = {});

/// Every tensor of the file, by name.
std::map<std::string, torch::Tensor> load_all_tensors(const SafetensorsFile& file,
                                                      const torch::TensorOptions& options = {});

/// Writes tensors (any device/dtype torch and safetensors share; made contiguous on the CPU)
/// atomically to `path`, with optional string metadata.
void save_tensors(const std::filesystem::path& path,
                  const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace diffgraph::models
