// tensor_io.cpp — copying tensors between memory-mapped safetensors files and torch.
#include "tensor_io.hpp"

#include <cstring>

#include <torch/torch.h>

namespace diffgraph::models {

namespace {

struct DtypePair {
  Dtype safetensors;
  torch::Dtype torch;
};

constexpr DtypePair kDtypePairs[] = {
    {Dtype::F64, torch::kFloat64}, {Dtype::F32, torch::kFloat32}, {Dtype::F16, torch::kFloat16},
    {Dtype::BF16, torch::kBFloat16}, {Dtype::I64, torch::kInt64}, {Dtype::I32, torch::kInt32},
    {Dtype::I16, torch::kInt16}, {Dtype::I8, torch::kInt8}, {Dtype::U8, torch::kUInt8},
    {Dtype::BOOL, torch::kBool},
};

}  // namespace

torch::Dtype to_torch_dtype(Dtype dtype) {
  for (const auto& pair : kDtypePairs) {
    if (pair.safetensors == dtype) return pair.torch;
  }
  throw SafetensorsError("safetensors dtype " + std::string(dtype_name(dtype)) + " has no torch equivalent");
}

Dtype from_torch_dtype(torch::Dtype dtype) {
  for (const auto& pair : kDtypePairs) {
    if (pair.torch == dtype) return pair.safetensors;
  }
  throw SafetensorsError(std::string("torch dtype ") + c10::toString(dtype) + " cannot be stored in safetensors");
}

torch::Tensor load_tensor(const SafetensorsFile& file, const TensorInfo& info, const torch::TensorOptions& options) {
  const auto bytes = file.bytes(info);
  // The file's BOOL bytes are untrusted: torch assumes 0/1, so they are read as U8 and compared.
  const bool is_bool = info.dtype == Dtype::BOOL;
  const torch::Dtype stored = is_bool ? torch::kUInt8 : to_torch_dtype(info.dtype);
  // A fresh contiguous tensor owns its memory, so it outlives the mapping.
  torch::Tensor tensor = torch::empty(info.shape, torch::TensorOptions().dtype(stored).device(torch::kCPU));
  if (static_cast<std::size_t>(tensor.nbytes()) != bytes.size()) {
    throw SafetensorsError(file.path().string() + ": tensor '" + info.name + "' has " +
                           std::to_string(bytes.size()) + " bytes, its shape needs " +
                           std::to_string(tensor.nbytes()));
  }
  if (!bytes.empty()) std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  if (is_bool) tensor = tensor.ne(0);

  if (options.has_dtype() || options.has_device()) {
    const torch::Device device = options.has_device() ? options.device() : tensor.device();
    const torch::Dtype dtype = options.has_dtype() ? c10::typeMetaToScalarType(options.dtype()) : tensor.scalar_type();
    tensor = tensor.to(device, dtype);
  }
  return tensor;
}

torch::Tensor load_tensor(const SafetensorsFile& file, std::string_view name, const torch::TensorOptions& options) {
  return load_tensor(file, file.at(name), options);
}

std::map<std::string, torch::Tensor> load_all_tensors(const SafetensorsFile& file,
                                                      const torch::TensorOptions& options) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& info : file.tensors()) tensors.emplace(info.name, load_tensor(file, info, options));
  return tensors;
}

void save_tensors(const std::filesystem::path& path,
                  const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  // Keeps the CPU copies alive until the bytes are written.
  std::vector<torch::Tensor> host;
  std::vector<TensorToWrite> to_write;
  host.reserve(tensors.size());
  to_write.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw SafetensorsError(path.string() + ": tensor '" + name + "' is undefined");
    Dtype dtype;
    try {
      dtype = from_torch_dtype(tensor.scalar_type());
    } catch (const SafetensorsError& e) {
      throw SafetensorsError(path.string() + ": tensor '" + name + "': " + e.what());
    }
    host.push_back(tensor.detach().to(torch::kCPU).contiguous());
    const torch::Tensor& cpu = host.back();
    TensorToWrite entry;
    entry.name = name;
    entry.dtype = dtype;
    entry.shape.assign(cpu.sizes().begin(), cpu.sizes().end());
    entry.data = {static_cast<const std::byte*>(cpu.data_ptr()), static_cast<std::size_t>(cpu.nbytes())};
    to_write.push_back(std::move(entry));
  }
  write_safetensors(path, to_write, metadata);
}

}  // namespace diffgraph::models
