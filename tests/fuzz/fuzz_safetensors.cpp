// fuzz_safetensors.cpp — libFuzzer target for the safetensors header parser.
//
// Any input must either parse into a consistent header or raise SafetensorsError: a crash, a
// sanitizer report, another exception type or a header that breaks the invariants below is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "models/safetensors.hpp"

using namespace diffgraph::models;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  SafetensorsHeader header;
  try {
    header = parse_safetensors_header(bytes, "fuzz-input.safetensors");
  } catch (const SafetensorsError&) {
    return 0;
  }
  // What a successful parse promises to the readers that trust it.
  const TensorInfo* previous = nullptr;
  for (const auto& tensor : header.tensors) {
    if (tensor.begin > tensor.end || tensor.end > size) __builtin_trap();
    if (tensor.numel() < 0) __builtin_trap();
    if (tensor.byte_size() != static_cast<std::uint64_t>(tensor.numel()) * dtype_size(tensor.dtype)) __builtin_trap();
    if (previous && !(previous->name < tensor.name)) __builtin_trap();  // sorted, unique
    previous = &tensor;
  }
  return 0;
}
